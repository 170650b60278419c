"""A person following a programme: the exercise phantoms strung together, for ``sacrum
exercise --simulate`` (try a guided session without a sensor) and the tests.

:func:`programme_phantom` builds, block by block of :meth:`Programme.blocks`, the first
set of :func:`sacrum.testing.exercise_phantom.exercise_phantom` of the block's task (its
known repetitions, one partial among them, pauses, deviations; or its hold, ``hold_s``
plus ``overhold_s`` long, so the person holds until told to release), and between the
blocks what a person does in the rest: still for ``done_s`` after the set, then moving
into the next exercise's posture (a smooth turn over up to 4 s), then still in it for the
rest of the rest. The timing follows the programme as the guided session runs it
(:mod:`~sacrum.apps.exercise.guided`): the session ends a set ``settle_s`` after its last
repetition, so the phantom's next set starts ``rest_after_s`` later, with the phantom's
own 4 s of stillness before its first repetition. The sensor's signals are
consistent throughout (angular rate from the orientation, specific force from gravity
and the sacrum's motion, the phantom's noise and gyroscope bias).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sacrum.apps.exercise.programme import Block, Programme
from sacrum.signal.mounting import parse_mount
from sacrum.signal.quaternion import quat_conjugate, quat_multiply, quat_rotate
from sacrum.units import G_MPS2

OVERHOLD_S = 2.5   # a held set is held this much past its target (the person waits for the cue)
DONE_S = 4.0       # still after a set's last movement before moving on (s)
MOVE_S = 4.0       # the longest move into the next posture (s)


@dataclass
class ProgrammePhantom:
    """The samples of a person doing a programme, and the truth per block.

    t_s (N,), acc_mps2 and gyr_radps (N, 3, sensor frame, with noise and bias),
    q_sensor_to_earth (N, 4, true), q_sensor_to_body (the mounting); blocks: per block
    the phantom of its set (``ExercisePhantom``: ``reps`` / ``holds`` in this recording's
    time) and its span (t_start_s, t_end_s).
    """

    rate_hz: float
    t_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_radps: np.ndarray
    q_sensor_to_earth: np.ndarray
    q_sensor_to_body: np.ndarray
    blocks: list[dict] = field(default_factory=list)


def _shift_truth(ph, dt: float, t_cut: float) -> None:
    for r in ph.reps:
        for k in ("t_start_s", "t_top_s", "t_release_s", "t_end_s"):
            setattr(r, k, getattr(r, k) + dt)
    for h in ph.holds:
        for k in ("t_start_s", "t_end_s", "t_control_lost_s"):
            setattr(h, k, getattr(h, k) + dt)
    ph.reps = [r for r in ph.reps if r.t_end_s < t_cut + dt]
    ph.holds = [h for h in ph.holds if h.t_end_s < t_cut + dt]


def _block_phantom(b: Block, mount, rate_hz: float, seed: int, fault_scale: float):
    from sacrum.testing.exercise_phantom import exercise_phantom

    if b.held:
        ph = exercise_phantom(b.task, mount=mount, rate_hz=rate_hz, seed=seed,
                              hold_s=(b.hold_s + OVERHOLD_S, b.hold_s + OVERHOLD_S))
    else:
        ph = exercise_phantom(b.task, mount=mount, rate_hz=rate_hz, seed=seed,
                              reps_per_set=b.repetitions, fault_scale=fault_scale)
    # the first set only: up to the re-positioning the phantom makes before its second
    t_cut = ph.adjustments[0][0] if ph.adjustments else float(ph.t_s[-1])
    if b.held:
        t_cut = ph.holds[0].t_end_s + 3.0
    else:
        last = [r for r in ph.reps if r.set_index == 0][-1]
        t_cut = min(t_cut, last.t_end_s + 1.0)
    n = round(t_cut * rate_hz)
    return ph, n, t_cut


def _still(q: np.ndarray, n: int, rate_hz: float, rng, bias_radps, acc_noise: float,
           gyr_noise: float, q_to: np.ndarray | None = None, move_n: int = 0):
    """n samples still at q, the first ``move_n`` of them turning smoothly to ``q_to``."""
    q = np.asarray(q, float)
    qs = np.repeat(q[None], n, axis=0)
    if q_to is not None and move_n > 1:
        q_to = q_to * (1.0 if float(np.dot(q, q_to)) >= 0 else -1.0)
        dq = quat_multiply(quat_conjugate(q), q_to)
        ang = 2 * math.acos(min(1.0, abs(float(dq[0]))))
        axis = dq[1:] / max(np.linalg.norm(dq[1:]), 1e-300) * (1 if dq[0] >= 0 else -1)
        x = np.clip(np.arange(n) / move_n, 0.0, 1.0)
        u = x * x * (3 - 2 * x)
        half = (u * ang / 2)[:, None]
        qs = quat_multiply(q, np.hstack([np.cos(half), np.sin(half) * axis]))
    dt = 1.0 / rate_hz
    dq = quat_multiply(quat_conjugate(qs[:-1]), qs[1:]) if n > 1 else np.zeros((0, 4))
    gyr = np.zeros((n, 3))
    if n > 1:
        dq *= np.sign(dq[:, :1] + 1e-300)
        norm = np.linalg.norm(dq[:, 1:], axis=1, keepdims=True)
        w = dq[:, 1:] / np.maximum(norm, 1e-300) * 2 * np.arctan2(norm, dq[:, :1]) / dt
        gyr[1:] = w
        gyr[0] = w[0]
    acc = quat_rotate(quat_conjugate(qs), np.array([0.0, 0.0, G_MPS2]))
    acc = acc + acc_noise * rng.standard_normal(acc.shape)
    gyr = gyr + bias_radps + gyr_noise * rng.standard_normal(gyr.shape)
    return qs, acc, gyr


def programme_phantom(programme: Programme, *, mount: str = "recommended",
                      rate_hz: float = 100.0, seed: int = 0, settle_s: float = 1.5,
                      fault_scale: float = 1.0) -> ProgrammePhantom:
    """The phantom of ``programme`` (module docstring). ``settle_s`` is the guided session's
    (how long it keeps a set open after its end); ``fault_scale`` scales the phantoms'
    deviations (not the drive)."""
    rng = np.random.default_rng(seed)
    bias = np.deg2rad((0.15, -0.2, 0.1))
    q_mount = parse_mount(mount)
    parts_q, parts_a, parts_g = [], [], []
    blocks_out: list[dict] = []
    t = 0.0
    q_prev = None
    blocks = programme.blocks()
    wait_s = programme.prepare_s  # still before the next block (prepare, then each rest)
    for b in blocks:
        ph, n, t_cut = _block_phantom(b, mount, rate_hz, seed + 1 + b.index, fault_scale)
        q0 = ph.q_sensor_to_earth[0]
        n_wait = round(wait_s * rate_hz)
        if q_prev is None:
            q_prev = q0
        if n_wait:
            move_n = round(min(MOVE_S, 0.4 * wait_s) * rate_hz)
            qs, acc, gyr = _still(q_prev, n_wait, rate_hz, rng, bias, 0.02, 0.002,
                                  q_to=q0, move_n=move_n)
            parts_q.append(qs)
            parts_a.append(acc)
            parts_g.append(gyr)
            t += n_wait / rate_hz
        t0 = t
        parts_q.append(ph.q_sensor_to_earth[:n])
        parts_a.append(ph.acc_mps2[:n])
        parts_g.append(ph.gyr_radps[:n])
        _shift_truth(ph, t0, t_cut)
        t += n / rate_hz
        q_prev = ph.q_sensor_to_earth[n - 1]
        # the session ends the set ~settle_s after the last movement; the rest counts from
        # there, and the person stays still DONE_S before moving
        extra = max(0.0, DONE_S - 1.0)
        n_done = round(extra * rate_hz)
        qs, acc, gyr = _still(q_prev, n_done, rate_hz, rng, bias, 0.02, 0.002)
        parts_q.append(qs)
        parts_a.append(acc)
        parts_g.append(gyr)
        t += n_done / rate_hz
        blocks_out.append({"block": b, "phantom": ph, "t_start_s": t0, "t_end_s": t})
        wait_s = b.rest_after_s + settle_s + 1.0 - extra if b.rest_after_s else 2.0
        wait_s = max(wait_s, 0.0)
    q = np.vstack(parts_q)
    n = len(q)
    return ProgrammePhantom(float(rate_hz), np.arange(n) / rate_hz, np.vstack(parts_a),
                            np.vstack(parts_g), q, q_mount, blocks_out)


class ProgrammeSource:
    """A :class:`~sacrum.testing.simulator.SampleSource` of a :class:`ProgrammePhantom`
    (raw int16 samples, SPEC 1.2 scaling): the simulated sensor streams it once
    (``duration_s``: its length)."""

    def __init__(self, ph: ProgrammePhantom) -> None:
        from sacrum.testing.generator import quantize
        from sacrum.testing.simulator import _LoopingSource

        raw, _ = quantize(ph.q_sensor_to_earth, ph.acc_mps2, ph.gyr_radps)
        self._src = _LoopingSource(raw, round(ph.rate_hz))
        self.rate_hz = self._src.rate_hz
        self.duration_s = len(raw) / ph.rate_hz
        self.phantom = ph

    def take(self, n: int) -> np.ndarray:
        return self._src.take(n)


__all__ = ["ProgrammePhantom", "ProgrammeSource", "programme_phantom"]

"""Kinematic phantoms of the exercises: pelvis and sensor motion with known repetitions.

For every exercise of :mod:`sacrum.scoring.exercises` (issue 16 item 7): the pelvis lies
(or stands) in the exercise's posture, does two sets of repetitions (or holds) with known
tempo and known pelvic deviations, pauses of different lengths, one partial repetition
per set and, between the sets, a re-positioning (a turn of the whole body and a shift of
the posture that is no repetition); the sensor sits in any mounting. Out come what the
sensor measures, specific force and angular rate in the sensor frame with noise and a
small gyroscope bias, and the true orientation, so a test can run the data through the
host's fusion, the firmware in the loop (:mod:`sacrum.testing.simulate`) or a capture
(:func:`sacrum.testing.generator.make_capture`) and compare with the truth.

The truth is designed, not measured: each repetition is a smoothstep rise, a hold and a
smoothstep fall of the relative angles (tilt, obliquity, rotation against the set's
start posture, decomposed as :mod:`sacrum.scoring.exercises.posture` defines), all three
with one shape, so the drive of every family crosses a fraction of its peak at known
times; the slow sway added (0.1° at 0.23-0.41 Hz) is part of the truth's excursions
(computed from the designed angles on the sample grid). Times are those of the
segmenters' definitions (5 % and 95 % of the peak) solved on the smoothstep.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from sacrum.scoring.exercises.catalogue import EXERCISES, Exercise
from sacrum.scoring.exercises.posture import relative_quat
from sacrum.signal.mounting import parse_mount
from sacrum.signal.quaternion import (
    matrix_to_quat,
    quat_conjugate,
    quat_multiply,
    quat_normalize,
    quat_rotate,
)
from sacrum.units import G_MPS2

#: The four mountings the phantoms are run in: the three of hardware/mounting.json and the
#: breakout turned sideways (face out, its X arrow to the left).
MOUNTS = ("recommended", "upside-down", "mobilise-d-examples", "x=left,y=down,z=back")

D = math.radians


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _smoothstep_inv(p: float) -> float:
    """x in [0, 1] with smoothstep(x) = p."""
    return 0.5 - math.sin(math.asin(1 - 2 * p) / 3)


@dataclass(frozen=True)
class _Move:
    """One movement: angles (3, rad) and translation (3, m, earth) rise over ``up_s``, are
    held ``hold_s``, fall over ``down_s``, from ``t0``."""

    t0: float
    up_s: float
    hold_s: float
    down_s: float
    angles: np.ndarray
    shift_m: np.ndarray

    @property
    def t1(self) -> float:
        return self.t0 + self.up_s + self.hold_s + self.down_s

    def shape(self, t):
        rise = _smoothstep((t - self.t0) / self.up_s)
        fall = _smoothstep((t - self.t0 - self.up_s - self.hold_s) / self.down_s)
        return rise - fall


@dataclass
class PhantomRepetition:
    """The truth of one repetition: set, side, partial; times at 5 %/95 % of the peak
    (s); tempo (s); the excursions and own metrics (deg) against the start posture; the
    sacrum's vertical excursion (m, + = down); each angle's extremes (min, max; deg)."""

    set_index: int
    side: str | None
    partial: bool
    t_start_s: float
    t_top_s: float
    t_release_s: float
    t_end_s: float
    up_s: float
    hold_s: float
    down_s: float
    excursions_deg: dict
    metrics_deg: dict
    depth_m: float = 0.0
    extremes_deg: dict = field(default_factory=dict)   # angle: (min, max)


@dataclass
class PhantomHold:
    """The truth of one hold: start (the entry ends), end (the exit begins), hold time,
    control lost (the first of ``loss_s`` over the exercise's ``loss_rad``; NaN: never),
    excursions and own metrics (deg) against the hold's
    reference (its first 0.5 s)."""

    t_start_s: float
    t_end_s: float
    hold_s: float
    t_control_lost_s: float
    excursions_deg: dict
    metrics_deg: dict
    extremes_deg: dict = field(default_factory=dict)   # angle: (min, max)


@dataclass
class ExercisePhantom:
    """A phantom recording and its truth.

    t_s (N,); acc_mps2, gyr_radps (N, 3): what the sensor measures (sensor frame, noise
    and bias added); q_sensor_to_earth (N, 4): the true orientation; q_sensor_to_body:
    the mounting; q_body_to_earth (N, 4): the true pelvis; angles_rad (N, 3): the
    designed relative angles against the current set's posture; reps / holds: the
    truth; adjustments: (t_start_s, t_end_s) of each re-positioning.
    """

    task: str
    rate_hz: float
    t_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_radps: np.ndarray
    q_sensor_to_earth: np.ndarray
    q_sensor_to_body: np.ndarray
    q_body_to_earth: np.ndarray
    angles_rad: np.ndarray
    reps: list[PhantomRepetition] = field(default_factory=list)
    holds: list[PhantomHold] = field(default_factory=list)
    adjustments: list[tuple[float, float]] = field(default_factory=list)

    @property
    def gyr_body_radps(self) -> np.ndarray:
        return quat_rotate(self.q_sensor_to_body, self.gyr_radps)

    @property
    def acc_body_mps2(self) -> np.ndarray:
        return quat_rotate(self.q_sensor_to_body, self.acc_mps2)


# ---- postures ---------------------------------------------------------------------------

def _posture_quat(posture: str, heading_rad: float) -> np.ndarray:
    """q_body_to_earth of a pelvis in ``posture`` with its long (or anterior) axis along
    ``heading_rad``, plus a small tilt and obliquity so no axis lies exactly on the
    earth's."""
    h = np.array([math.cos(heading_rad), math.sin(heading_rad), 0.0])
    up = np.array([0.0, 0.0, 1.0])
    if posture == "upright":
        z, x = up, h
        y = np.cross(z, x)
    elif posture in ("supine", "prone"):
        x = up if posture == "supine" else -up
        z = h
        y = np.cross(z, x)
    elif posture in ("side-lying-left", "side-lying-right"):
        y = -up if posture == "side-lying-left" else up
        z = h
        x = np.cross(y, z)
    else:
        raise ValueError(f"no phantom posture {posture!r}")
    q = matrix_to_quat(np.column_stack([x, y, z]))
    return quat_multiply(q, relative_quat(D(4.0), D(-2.0), D(1.5)))


# ---- exercise designs ---------------------------------------------------------------------

def _design(ex: Exercise, rng) -> dict:
    """Per exercise: a function (k, side, partial) -> (angles_deg, shift_m, tempo)."""
    s = 1.0 if ex.side == "L" else -1.0
    b = ex.base

    def amp(lo, hi):
        return lo + (hi - lo) * rng.random()

    if b in ("bridge", "single-leg-bridge"):
        def rep(k, side, partial):
            tilt = -(amp(6.5, 8.0) if partial else amp(20.0, 28.0))
            rot = amp(1.0, 4.0) * (1 if k % 2 else -1) if b == "bridge" else -s * amp(3.0, 9.0)
            return (np.array([tilt, amp(-1.5, 1.5), rot]), np.array([0, 0, 0.12]),
                    (amp(1.0, 1.4), amp(1.0, 2.0), amp(1.2, 1.6)))
    elif b == "clamshell":
        def rep(k, side, partial):
            roll = amp(1.6, 2.2) if partial else amp(2.0, 8.0)
            tempo = (0.3, 0.05, 0.3) if partial else (amp(0.7, 0.9), amp(0.3, 0.6),
                                                       amp(0.7, 0.9))
            return (np.array([amp(-0.8, 0.8), amp(-0.8, 0.8), s * roll]), np.zeros(3), tempo)
    elif b == "single-leg-deadlift":
        def rep(k, side, partial):
            tilt = amp(18.0, 22.0) if partial else amp(50.0, 70.0)
            return (np.array([tilt, s * amp(1.0, 4.0), -s * amp(3.0, 10.0)]),
                    np.array([-0.10, 0, -0.06]), (amp(1.3, 1.7), amp(0.8, 1.2),
                                                  amp(1.3, 1.7)))
    elif b == "split-squat":
        def rep(k, side, partial):
            depth = amp(0.08, 0.09) if partial else amp(0.26, 0.32)
            return (np.array([amp(2.0, 6.0), s * amp(2.0, 6.0), amp(-4.0, 4.0)]),
                    np.array([0, 0, -depth]), (amp(1.4, 1.7), amp(0.4, 0.7), amp(1.4, 1.7)))
    elif b in ("bird-dog", "dead-bug"):
        def rep(k, side, partial):
            g = 1.0 if side == "L" else -1.0
            if b == "bird-dog":
                a = np.array([amp(-3.0, 3.0), amp(-1.0, 1.0), g * amp(2.0, 6.0)])
            else:
                a = np.array([amp(1.0, 5.0), amp(-0.5, 0.5), g * amp(1.5, 4.0)])
            if partial:
                return a * 0.6, np.zeros(3), (0.4, 0.05, 0.4)
            return a, np.zeros(3), (amp(0.9, 1.2), amp(2.0, 3.0), amp(0.9, 1.2))
    else:
        raise ValueError(f"no repetition design for {ex.task}")
    return {"rep": rep}


_HOLD_ENTRY = {  # relative angles (deg) of the position against the posture before it
    "plank": (np.array([-15.0, 0.0, 0.0]), np.array([0, 0, 0.25])),
    "side-plank": (None, np.array([0, 0, 0.20])),
    "bridge-hold": (np.array([-25.0, 0.0, 0.0]), np.array([0, 0, 0.12])),
}


def _hold_fault(ex: Exercise) -> np.ndarray:
    """The unit direction (relative angles) in which the hold's control fails."""
    if ex.base == "plank":
        return np.array([1.0, 0.0, 0.0])            # sag: anterior tilt
    if ex.base == "side-plank":
        return np.array([0.0, -1.0 if ex.side == "L" else 1.0, 0.0])   # hips towards floor
    return np.array([0.8, 0.0, 0.6])                   # bridge: hips sinking and tipping


# ---- the phantom --------------------------------------------------------------------------

def exercise_phantom(task: str, *, mount: str | np.ndarray = "recommended",
                     rate_hz: float = 100.0, reps_per_set: int = 5, hold_s=(12.0, 9.0),
                     seed: int = 0, acc_noise_mps2: float = 0.02,
                     gyr_noise_radps: float = 0.002, gyr_bias_dps=(0.15, -0.2, 0.1),
                     heading_deg: float = 30.0, loss_s: float = 1.0, fault_scale: float = 1.0,
                     fault_growth: float = 0.0, aborted_hold_s: float = 1.5,
                     stand_first_s: float = 0.0) -> ExercisePhantom:
    """A phantom of ``task`` (a name of :data:`sacrum.scoring.exercises.EXERCISES`).

    Repetition exercises: 4 s still, then set 0 (``reps_per_set`` full repetitions, a
    partial one third, pauses of 1-3 s and one of 6 s), a re-positioning (the body turns
    by 40° about the vertical and the posture shifts by up to 2° over 2 s), 4 s still,
    set 1 (the same), 1 s still. Alternating exercises
    alternate L, R from the left. Held
    exercises: 4 s in the posture before, the entry (1 s), a hold of ``hold_s[k]`` s
    whose control fails by 7.5° in the exercise's fault direction over its second half
    (control lost where it passes the exercise's 5° for ``loss_s``), the exit (0.8 s), a
    re-positioning, an attempt given up after ``aborted_hold_s`` (no hold: shorter than
    the segmenter's 2 s), the second hold. Mount: a spec of
    :func:`sacrum.signal.mounting.parse_mount` or a quaternion; noise: white, on acc and
    gyr; bias: constant on gyr (°/s). ``stand_first_s`` > 0: the recording starts with the
    person standing still that long (a standing calibration; the pelvis upright, facing
    the exercise's heading, tilted 4° as the postures are), then getting into the
    exercise's posture over 3 s; every time of the truth is shifted by that.
    """
    ex = EXERCISES[task]
    rng = np.random.default_rng(seed)
    q_mount = parse_mount(mount) if isinstance(mount, str) else quat_normalize(mount)
    hd = D(heading_deg)
    moves: list[tuple[int, _Move]] = []       # (set, move) in set-relative angles
    reps: list[tuple[int, str | None, bool, _Move]] = []
    holds: list[tuple[int, _Move, float]] = []
    adjust: list[tuple[float, float, np.ndarray]] = []  # (t0, t1, relative quat)
    t = 4.0
    if ex.held:
        entry_deg, lift = _HOLD_ENTRY[ex.base]
        if entry_deg is None:
            entry_deg = np.array([0.0, 15.0 if ex.side == "L" else -15.0, 0.0])
        for k in range(2):
            if k == 1 and aborted_hold_s:   # an attempt given up: not a hold
                m = _Move(t, 1.0, aborted_hold_s, 0.8, np.deg2rad(entry_deg),
                          np.asarray(lift, float))
                moves.append((k, m))
                t = m.t1 + 4.0
            m = _Move(t, 1.0, hold_s[k], 0.8, np.deg2rad(entry_deg), np.asarray(lift, float))
            moves.append((k, m))
            holds.append((k, m, 0.5))
            t = m.t1 + 3.0
            if k == 0:
                adjust.append((t, t + 2.0, None))
                t += 6.0
        t_end = t + 1.0
    else:
        design = _design(ex, rng)["rep"]
        for k in range(2):
            for j in range(reps_per_set + 1):
                partial = j == 2
                side = (("L", "R")[j % 2] if ex.side == "alternating" else ex.side)
                a_deg, shift, tempo = design(j, side, partial)
                scale = np.full(3, fault_scale * (1 + fault_growth * j))
                if ex.drive_axis is not None:
                    scale[ex.drive_axis] = 1.0
                a_deg = a_deg * scale
                m = _Move(t, *tempo, np.deg2rad(a_deg), np.asarray(shift, float))
                moves.append((k, m))
                reps.append((k, side, partial, m))
                pause = 6.0 if j == 3 else 1.0 + 2.0 * rng.random()
                t = m.t1 + pause
            if k == 0:
                adjust.append((t, t + 2.0, None))
                t += 6.0
        t_end = t + 1.0
    q_p0 = _posture_quat(ex.posture, hd)
    set_q = [q_p0]
    for k, (a, b, _) in enumerate(adjust):
        adjust[k] = (a, b, _reposition(ex, rng, set_q[-1]))
        set_q.append(quat_multiply(set_q[-1], adjust[k][2]))
    n = round(t_end * rate_hz)
    tt = np.arange(n) / rate_hz

    def sway(x):
        return np.deg2rad(0.1) * np.stack([np.sin(2 * np.pi * 0.23 * x + 0.3),
                                           np.sin(2 * np.pi * 0.31 * x + 1.1),
                                           np.sin(2 * np.pi * 0.41 * x + 2.0)], -1)

    def hold_fault(x):
        out = np.zeros((len(x), 3))
        fd = _hold_fault(ex)
        for _, m, frac in holds:
            a = m.t0 + m.up_s + frac * m.hold_s
            b = m.t0 + m.up_s + m.hold_s
            ramp = _smoothstep((x - a) / (b - a)) * (1 - _smoothstep((x - b) / m.down_s))
            out += np.deg2rad(7.5) * ramp[:, None] * fd
        return out

    def pose(x):
        """(q_body_to_earth, relative angles, position) at times x."""
        ang = sway(x)
        pos = np.zeros((len(x), 3))
        for _, m in moves:
            s = m.shape(x)[:, None]
            ang = ang + s * m.angles
            pos = pos + s * m.shift_m
        if ex.held:
            ang = ang + hold_fault(x)
        set_k = np.zeros(len(x), int)
        q = np.empty((len(x), 4))
        for k, (_, t1, _) in enumerate(adjust):
            set_k[x >= t1] = k + 1
        q[:] = np.nan
        for k in range(len(set_q)):
            sel = set_k == k
            q[sel] = quat_multiply(set_q[k], relative_quat(ang[sel, 0], ang[sel, 1],
                                                           ang[sel, 2]))
        for k, (t0, t1, dq) in enumerate(adjust):   # the re-positioning: slerp, then set k+1
            sel = (x >= t0) & (x < t1)
            if sel.any():
                u = _smoothstep((x[sel] - t0) / (t1 - t0))
                q[sel] = quat_multiply(quat_multiply(set_q[k], _slerp_identity(dq, u)),
                                       relative_quat(ang[sel, 0], ang[sel, 1], ang[sel, 2]))
                pos[sel] += u[:, None] * np.array([0.15, 0.1, 0.0])
        if adjust:
            pos[x >= adjust[-1][1]] += [0.15, 0.1, 0.0]
        return q, ang, pos

    q_be, ang, pos = pose(tt)
    q_se = quat_multiply(q_be, q_mount)
    dt = 1.0 / rate_hz
    # the rate a sample reports is the mean over the interval that ends at it (what the
    # fusion integrates from the sample before: docs/exercises.md, "Validation")
    qa = quat_multiply(pose(tt - dt)[0], q_mount)
    qb = q_se
    dq = quat_multiply(quat_conjugate(qa), qb)
    dq *= np.sign(dq[:, :1])
    norm = np.linalg.norm(dq[:, 1:], axis=1, keepdims=True)
    gyr = dq[:, 1:] / np.maximum(norm, 1e-300) * 2 * np.arctan2(norm, dq[:, :1]) / dt
    # the sacrum's position rotates into earth coordinates with the body's heading
    c, s_ = math.cos(hd), math.sin(hd)
    pos_e = np.stack([c * pos[:, 0] - s_ * pos[:, 1], s_ * pos[:, 0] + c * pos[:, 1],
                      pos[:, 2]], 1)
    a_lin = np.gradient(np.gradient(pos_e, dt, axis=0), dt, axis=0)
    f_earth = a_lin + np.array([0.0, 0.0, G_MPS2])
    acc = quat_rotate(quat_conjugate(q_se), f_earth)
    acc = acc + acc_noise_mps2 * rng.standard_normal(acc.shape)
    gyr = gyr + np.deg2rad(gyr_bias_dps) + gyr_noise_radps * rng.standard_normal(gyr.shape)
    ph = ExercisePhantom(task, float(rate_hz), tt, acc, gyr, q_se, q_mount, q_be, ang,
                         adjustments=[(a, b) for a, b, _ in adjust])
    for k, side, partial, m in reps:
        ph.reps.append(_rep_truth(ex, k, side, partial, m, tt, ang))
    for _, m, _ in holds:
        ph.holds.append(_hold_truth(ex, m, tt, ang, rate_hz, loss_s))
    if stand_first_s > 0:
        _stand_first(ph, _posture_quat("upright", hd), stand_first_s, rng, acc_noise_mps2,
                     gyr_noise_radps, gyr_bias_dps)
    return ph


def _stand_first(ph: ExercisePhantom, q_stand: np.ndarray, stand_s: float, rng,
                 acc_noise_mps2: float, gyr_noise_radps: float, gyr_bias_dps) -> None:
    """Prepend ``stand_s`` of standing still and 3 s getting into the exercise's first
    posture (a slerp; no linear acceleration) to ``ph``, shifting its truth's times."""
    dt = 1.0 / ph.rate_hz
    n_stand, n_move = round(stand_s * ph.rate_hz), round(3.0 * ph.rate_hz)
    n = n_stand + n_move
    dq = quat_multiply(quat_conjugate(q_stand), ph.q_body_to_earth[0])
    dq = dq * (1.0 if dq[0] >= 0 else -1.0)

    def body(t):
        return quat_multiply(q_stand, _slerp_identity(dq, _smoothstep((t - stand_s) / 3.0)))

    shift = n * dt
    t = np.arange(n) * dt
    q_be = body(t)
    q_se = quat_multiply(q_be, ph.q_sensor_to_body)
    qa = quat_multiply(body(t - dt), ph.q_sensor_to_body)   # the interval ending at t
    qb = q_se
    d = quat_multiply(quat_conjugate(qa), qb)
    d *= np.sign(d[:, :1])
    norm = np.linalg.norm(d[:, 1:], axis=1, keepdims=True)
    gyr = d[:, 1:] / np.maximum(norm, 1e-300) * 2 * np.arctan2(norm, d[:, :1]) / dt
    gyr = gyr + np.deg2rad(gyr_bias_dps) + gyr_noise_radps * rng.standard_normal(gyr.shape)
    acc = quat_rotate(quat_conjugate(q_se), np.array([0.0, 0.0, G_MPS2]))
    acc = acc + acc_noise_mps2 * rng.standard_normal(acc.shape)
    ph.t_s = np.r_[np.arange(n) * dt, ph.t_s + shift]
    ph.acc_mps2 = np.vstack([acc, ph.acc_mps2])
    ph.gyr_radps = np.vstack([gyr, ph.gyr_radps])
    ph.q_sensor_to_earth = np.vstack([q_se, ph.q_sensor_to_earth])
    ph.q_body_to_earth = np.vstack([q_be, ph.q_body_to_earth])
    ph.angles_rad = np.vstack([np.full((n, 3), np.nan), ph.angles_rad])
    ph.adjustments = [(a + shift, b + shift) for a, b in ph.adjustments]
    ph.reps = [dataclasses.replace(r, t_start_s=r.t_start_s + shift, t_top_s=r.t_top_s + shift,
                                   t_release_s=r.t_release_s + shift,
                                   t_end_s=r.t_end_s + shift) for r in ph.reps]
    ph.holds = [dataclasses.replace(h, t_start_s=h.t_start_s + shift,
                                    t_end_s=h.t_end_s + shift,
                                    t_control_lost_s=h.t_control_lost_s + shift)
                for h in ph.holds]


def exercise_capture(path, task: str, *, mtu: int = 247, seed: int = 0, annotations=(),
                     **phantom_options) -> ExercisePhantom:
    """Write a capture of :func:`exercise_phantom` to ``path`` as a sensor streaming it
    over BLE would (:func:`sacrum.testing.generator.make_capture`: connection events,
    jitter, clock drift), and return the phantom (its truth). Keywords go to
    :func:`exercise_phantom`. The task is not marked in the capture unless
    ``annotations`` ((t_s, JSON) as ``make_capture`` takes them: task marks, a
    ``mounting``) say so."""
    from sacrum.testing.generator import LinkModel, make_capture

    ph = exercise_phantom(task, seed=seed, **phantom_options)
    make_capture(path, ph.q_sensor_to_earth, ph.acc_mps2, ph.gyr_radps, int(ph.rate_hz),
                 link=LinkModel(mtu=mtu), seed=seed, annotations=list(annotations),
                 header={"note": f"sacrum.testing.exercise_capture: {task}",
                         "device": {"name": "sacrum-phantom", "firmware": "phantom",
                                    "imu": "synthetic"}})
    return ph


def _reposition(ex: Exercise, rng, q_set: np.ndarray) -> np.ndarray:
    """The rotation (relative, in the body frame of the set's posture ``q_set``) of a
    re-positioning between sets: the whole body turns by 40° about the earth's vertical
    and the posture shifts by up to 2° about each body axis."""
    turn = np.array([math.cos(D(20.0)), 0.0, 0.0, math.sin(D(20.0))])   # 40° about earth z
    dq = quat_multiply(quat_multiply(quat_conjugate(q_set), turn), q_set)
    small = relative_quat(*np.deg2rad(rng.uniform(-2.0, 2.0, 3)))
    return quat_multiply(dq, small)


def _slerp_identity(dq: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The rotation u (0..1) of the way from identity to dq (N, 4)."""
    ang = 2 * math.acos(min(1.0, abs(dq[0])))
    axis = dq[1:] / max(np.linalg.norm(dq[1:]), 1e-300) * (1 if dq[0] >= 0 else -1)
    half = u[:, None] * ang / 2
    return np.hstack([np.cos(half), np.sin(half) * axis])


def _rep_truth(ex: Exercise, k: int, side, partial: bool, m: _Move, tt, ang,
               ) -> PhantomRepetition:
    x0, x1 = _smoothstep_inv(0.05), _smoothstep_inv(0.95)
    t_start = m.t0 + x0 * m.up_s
    t_top = m.t0 + x1 * m.up_s
    t_rel = m.t0 + m.up_s + m.hold_s + (1 - x1) * m.down_s
    t_end = m.t0 + m.up_s + m.hold_s + (1 - x0) * m.down_s
    sel = (tt >= m.t0) & (tt <= m.t1)
    a = ang[sel] - ang[np.flatnonzero(sel)[0]]
    exc = {n: math.degrees(_signed_extreme(a[:, i]))
           for i, n in enumerate(("tilt", "obliquity", "rotation"))}
    mets = {me.name: math.degrees(float(np.max(me.signal(a)))) for me in ex.metrics}
    return PhantomRepetition(k, side, partial, t_start, t_top, t_rel, t_end,
                             t_top - t_start, t_rel - t_top, t_end - t_rel, exc, mets,
                             -float(m.shift_m[2]), _extremes(a))


def _hold_truth(ex: Exercise, m: _Move, tt, ang, rate_hz, loss_s) -> PhantomHold:
    t0, t1 = m.t0 + m.up_s, m.t0 + m.up_s + m.hold_s
    sel = (tt >= t0) & (tt <= t1)
    idx = np.flatnonzero(sel)
    ref = ang[idx[:round(0.5 * rate_hz)]].mean(axis=0)
    a = ang[sel] - ref
    c = ex.control(a)
    over = c > ex.loss_rad
    n = round(loss_s * rate_hz)
    run = np.convolve(over, np.ones(n), "valid") >= n      # runs of n samples above
    lost = float(tt[idx[np.flatnonzero(run)[0]]]) if run.any() else math.nan
    exc = {n: math.degrees(_signed_extreme(a[:, i]))
           for i, n in enumerate(("tilt", "obliquity", "rotation"))}
    mets = {me.name: math.degrees(float(np.max(me.signal(a)))) for me in ex.metrics}
    return PhantomHold(t0, t1, t1 - t0, lost, exc, mets, _extremes(a))


def _signed_extreme(x: np.ndarray) -> float:
    return float(x[int(np.argmax(np.abs(x)))])


def _extremes(a: np.ndarray) -> dict:
    """Each relative angle's (min, max) over the rows of ``a`` (rad), in degrees."""
    return {n: (math.degrees(min(0.0, float(a[:, i].min()))),
                math.degrees(max(0.0, float(a[:, i].max()))))
            for i, n in enumerate(("tilt", "obliquity", "rotation"))}




def firmware_orientation(ph: ExercisePhantom, out) -> np.ndarray:
    """The phantom's IMU signals through the real firmware under MicroPython
    (:func:`sacrum.testing.simulate.simulate`, a capture at ``out``), decoded, and the
    capture's samples (the sensor's rate, as ``sacrum.load`` has it) through the host's
    offline filter (as the analysis does): the
    orientation (N, 4) on the phantom's time axis (NaN where the stream had not started:
    it starts a few loop steps after the recording)."""
    from sacrum.io.decode import decode_capture
    from sacrum.signal.orientation import orientation_offline
    from sacrum.testing.simulate import simulate

    simulate(ph.acc_mps2, ph.gyr_radps, int(ph.rate_hz), out)
    table = decode_capture(out)
    # the sensor's own rate (the wire's plus the bias a protocol-1.2 device said it took
    # off), as sacrum.load gives the analysis
    acc, gyr = table.acc_mps2.astype(float), table.gyr_sensor_radps.astype(float)
    k = int(np.argmin([np.nanmax(np.abs(acc[:50] - ph.acc_mps2[j:j + 50]))
                       for j in range(80)]))
    n = min(len(acc), len(ph.t_s) - k)
    q = np.full_like(ph.q_sensor_to_earth, np.nan)
    q[k:k + n] = orientation_offline(acc[:n], gyr[:n], ph.rate_hz)
    return q


def phantom_figures(tasks=None, mounts=MOUNTS, fusion: bool = True, firmware: bool = False,
                    seed: int = 0, live: bool = False) -> list[dict]:
    """Per exercise and mounting: the phantom's truth against the segmenter, from the true
    orientation, (``fusion``) through the host's offline filter, (``live``) through its
    real-time filter (``OrientationFilter``, forward only: what a live or guided session
    without the device's quaternion uses) and (``firmware``) through the firmware in the
    loop (:func:`firmware_orientation`). Rows: ``task``,
    ``mount``, ``path``, ``reps`` / ``holds`` (found, truth), ``counts_exact`` (count,
    partials, sides and sets all equal), ``excursion_err_deg`` (the signed excursions),
    ``extremes_err_deg`` (each angle's min and max), ``sign_flips`` (signed excursions that
    took the other extreme than the truth's, off by more than 0.25°), ``metric_err_deg`` (max
    over repetitions/holds and axes), ``hold_err_s``, ``lost_err_s``, ``tempo_err_s``,
    ``angle_err_deg`` (:func:`_angle_error_deg`)."""
    from sacrum.scoring.exercises import segmenter
    from sacrum.scoring.exercises.posture import body_orientation
    from sacrum.signal.orientation import OrientationFilter, orientation_offline

    rows = []
    for task in tasks or sorted(EXERCISES):
        for mount in mounts:
            ph = exercise_phantom(task, mount=mount, seed=seed)
            paths = [("truth", ph.q_sensor_to_earth)]
            if fusion:
                paths.append(("offline fusion",
                              orientation_offline(ph.acc_mps2, ph.gyr_radps, ph.rate_hz)))
            if live:
                paths.append(("live fusion", OrientationFilter(ph.rate_hz).update(
                    ph.acc_mps2, ph.gyr_radps)))
            if firmware:
                import tempfile
                from pathlib import Path
                with tempfile.TemporaryDirectory() as tmp:
                    paths.append(("firmware", firmware_orientation(
                        ph, Path(tmp) / "phantom.sacrum")))
            for name, q in paths:
                seg = segmenter(task, ph.rate_hz)
                qb = body_orientation(q, ph.q_sensor_to_body)
                if ph.holds:
                    seg.update(ph.t_s, qb, ph.gyr_body_radps)
                else:
                    seg.update(ph.t_s, qb, ph.gyr_body_radps, ph.acc_body_mps2)
                seg.flush()
                row = _figures_row(task, mount, name, ph, seg)
                row["angle_err_deg"] = _angle_error_deg(ph, qb)
                rows.append(row)
    return rows


def _angle_error_deg(ph: ExercisePhantom, q_body_to_earth: np.ndarray) -> float:
    """The largest error (deg) of the three relative angles themselves, sample by sample,
    over every repetition (or hold) of the truth, each against its own start: the
    accuracy of the angles, which the signed excursions can hide or exaggerate (when an
    angle's largest positive and negative deviations are nearly equal, a tenth of a
    degree decides which is reported)."""
    from sacrum.scoring.exercises.posture import relative_angles

    worst = 0.0
    spans = ([(h.t_start_s, h.t_end_s) for h in ph.holds] if ph.holds
             else [(r.t_start_s, r.t_end_s) for r in ph.reps])
    for t0, t1 in spans:
        idx = np.flatnonzero((ph.t_s >= t0) & (ph.t_s <= t1))
        if len(idx) < 2 or not np.isfinite(q_body_to_earth[idx]).all():
            continue
        got = relative_angles(q_body_to_earth[idx], q_body_to_earth[idx[0]])
        want = relative_angles(ph.q_body_to_earth[idx], ph.q_body_to_earth[idx[0]])
        worst = max(worst, float(np.degrees(np.abs(got - want).max())))
    return worst


def _figures_row(task, mount, path, ph, seg) -> dict:
    row = {"task": task, "mount": mount, "path": path, "excursion_err_deg": 0.0,
           "extremes_err_deg": 0.0, "sign_flips": 0, "metric_err_deg": 0.0,
           "hold_err_s": math.nan, "lost_err_s": math.nan, "tempo_err_s": math.nan}
    found = seg.holds if ph.holds else seg.reps
    truth = ph.holds if ph.holds else ph.reps
    row["found"], row["truth"] = len(found), len(truth)
    exact = len(found) == len(truth)
    if exact and not ph.holds:
        exact = ([(r.partial, r.side, r.set_index) for r in found]
                 == [(r.partial, r.side, r.set_index) for r in truth])
    row["counts_exact"] = exact
    if not exact:
        return row
    hold_err, lost_err, tempo_err = [], [], []
    for r, tr in zip(found, truth, strict=True):
        d = r.to_dict_deg()
        for a in ("tilt", "obliquity", "rotation"):
            row["excursion_err_deg"] = max(row["excursion_err_deg"],
                                           abs(d[f"{a}_excursion_deg"] - tr.excursions_deg[a]))
            lo, hi = tr.extremes_deg[a]
            row["extremes_err_deg"] = max(row["extremes_err_deg"],
                                          abs(d[f"{a}_excursion_min_deg"] - lo),
                                          abs(d[f"{a}_excursion_max_deg"] - hi))
            # the signed excursion took the other extreme than the truth's
            row["sign_flips"] += (d[f"{a}_excursion_deg"] * tr.excursions_deg[a] < 0
                                  and abs(d[f"{a}_excursion_deg"] - tr.excursions_deg[a])
                                  > 0.25)
        for name, v in tr.metrics_deg.items():
            row["metric_err_deg"] = max(row["metric_err_deg"], abs(d[name] - v))
        if ph.holds:
            hold_err.append(abs(r.hold_s - tr.hold_s))
            if math.isfinite(tr.t_control_lost_s) and math.isfinite(r.t_control_lost_s):
                lost_err.append(abs(r.t_control_lost_s - tr.t_control_lost_s))
        elif not tr.partial:
            tempo_err.append(max(abs(r.up_s - tr.up_s), abs(r.hold_s - tr.hold_s),
                                 abs(r.down_s - tr.down_s)))
    for key, v in (("hold_err_s", hold_err), ("lost_err_s", lost_err),
                   ("tempo_err_s", tempo_err)):
        if v:
            row[key] = max(v)
    return row


def main(argv: list[str] | None = None) -> None:
    """``python -m sacrum.testing.exercise_phantom [--firmware] [TASK ...]``: the phantom
    figures as a table (all exercises by default; ``--firmware`` adds the firmware in the
    loop, about 5 s per exercise and mounting)."""
    import sys
    args = sys.argv[1:] if argv is None else argv
    firmware = "--firmware" in args
    tasks = [a for a in args if not a.startswith("--")] or None
    out = sys.stdout
    out.write(f"{'task':28s} {'mount':22s} {'path':15s} reps/holds exact  exc°  own°  "
              f"hold s  lost s  tempo s\n")
    for r in phantom_figures(tasks, firmware=firmware):
        out.write(f"{r['task']:28s} {r['mount']:22s} {r['path']:15s} {r['found']:2d}/"
                  f"{r['truth']:2d}     {'yes' if r['counts_exact'] else 'NO ':3s} "
                  f"{r['excursion_err_deg']:5.2f} {r['metric_err_deg']:5.2f} "
                  f"{r['hold_err_s']:7.2f} {r['lost_err_s']:7.2f} {r['tempo_err_s']:7.2f}\n")


__all__ = ["MOUNTS", "ExercisePhantom", "PhantomHold", "PhantomRepetition",
           "exercise_capture", "exercise_phantom", "firmware_orientation", "phantom_figures"]


if __name__ == "__main__":
    main()

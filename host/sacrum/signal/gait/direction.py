"""Step 4 of the gait stage: the walking direction, and each step's forward progression."""

from __future__ import annotations

import math

import numpy as np

from sacrum.signal.gait.samples import SampleBuffer, from_earth
from sacrum.signal.gait.steps import Step


class WalkingDirection:
    """The forward axis of the pelvis in the sensor frame, learnt from the steps.

    **Steps.** Over each step (IC to next IC) the forward acceleration of the pelvis follows
    the vertical velocity with opposite sign (inverted pendulum: the body speeds up forward
    while it falls from mid-stance and slows down while it rises; Zijlstra & Hof 2003).

    1. Integrate a_v over the step to the vertical velocity v_v and detrend it (zero at
       both ICs), centred.
    2. The vector Σ (a_h − mean)·(−v_v) dt over the step points forward. Rotate it into the
       sensor frame, where the forward direction is fixed for a rigid mounting.
    3. Accumulate it over steps, each step's weight decaying with ``forward_memory_steps``,
       so turns do not disturb it.
    4. The normalised correlation of the step's forward acceleration (along the accumulated
       direction) with −v_v is that step's progression index (+1: walking straight on).

    With ``q_sensor_to_body`` given, its x axis is the forward direction instead (not
    learnt; the progression index is still computed).

    **Data.** a_v, a_h (m/s²) and q of a ``SampleBuffer`` between two ICs.

    **Parameters.** forward_memory_steps = 100 (steps); q_sensor_to_body (w, x, y, z),
    optional.

    **State.** ``forward_s``: the forward direction so far (sensor frame, not normalised;
    zero before the first step).

    **References.** Zijlstra W, Hof AL. Assessment of spatio-temporal gait parameters from
    trunk accelerations during human walking. Gait Posture 2003;18:1-10.
    """

    def __init__(self, rate_hz: float, q_sensor_to_body: np.ndarray | None = None, *,
                 forward_memory_steps: float = 100.0) -> None:
        self.rate_hz = float(rate_hz)
        self.q_sensor_to_body = q_sensor_to_body
        self._decay = math.exp(-1.0 / forward_memory_steps)
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        self.forward_s = (np.zeros(3) if self.q_sensor_to_body is None
                          else from_earth(self.q_sensor_to_body[None, :],
                                          np.array([[1.0, 0.0, 0.0]]))[0])
        self._fixed = self.q_sensor_to_body is not None

    def step(self, buf: SampleBuffer, a: Step, b: Step) -> None:
        """Learn from the step a→b and set ``a.progression``."""
        dt = 1.0 / self.rate_hz
        ah = buf.get("ah", a.idx, b.idx)
        av = buf.get("av", a.idx, b.idx)[:, 0]
        r = buf.get("rxy", a.idx, b.idx)                     # sensor → earth x, y rows
        if len(av) < 2:
            return
        v = np.cumsum(av) * dt
        v = v - np.linspace(0.0, v[-1], len(v))               # detrend: zero at both ICs
        v = v - v.mean()
        ahc = ah - ah.mean(axis=0)
        c_s = np.einsum("nij,ni->j", r, ahc * (-v[:, None])) * dt   # Σ q* c_e q dt
        if not self._fixed:
            self.forward_s = self._decay * self.forward_s + c_s
        f_s = self.forward_s
        f_e = r @ f_s                  # forward axis in the earth frame at each sample
        f_e = f_e / np.maximum(np.linalg.norm(f_e, axis=1, keepdims=True), 1e-12)
        a_f = (ahc * f_e).sum(axis=1)
        norm = math.sqrt(float((a_f ** 2).sum() * (v ** 2).sum()))
        a.progression = float((a_f * -v).sum() / norm) if norm > 0 else 0.0

"""Quiet upright standing, found in the stream: the stretch the pelvic angles are zeroed on
(``Pipeline`` step 2)."""

from __future__ import annotations

import math

import numpy as np

from sacrum.signal.angles import OBLIQUITY, TILT
from sacrum.units import G_MPS2


class StandingDetector:
    """The first ``calibrate_s`` of quiet upright standing, streaming.

    **Data required.** Per sample, the orientation ``q`` (N, 4) ``q_sensor_to_earth``, its
    body decomposition ``body`` (N, 3: tilt, obliquity, heading;
    :meth:`~sacrum.signal.angles.PelvicAngles.decompose`), ``acc_mps2`` and ``gyr_radps``
    (N, 3, sensor frame, SI).

    **Steps.**

    1. A sample is *still* (:meth:`still`) when the angular rate magnitude is below
       ``still_gyr_radps``, the acceleration magnitude within ``still_acc_mps2`` of g, and
       the body's vertical axis within ``upright_max_rad`` of earth up (cos tilt · cos
       obliquity, the (2, 2) element of Rz·Rx(o)·Ry(t)). The first two are the
       angular-rate-energy and acceleration-magnitude stance detectors of Skog et al.
       2010, here per sample with fixed thresholds (no window: the run length of step 2
       does the smoothing); the third keeps lying and sitting reclined out.
    2. The run of still samples ending at each sample is counted, continuing from the
       previous chunk; when it reaches ``calibrate_s``, :meth:`update` returns where (the
       index in the chunk) and the run's orientations, and counting starts again.

    Decided per sample: any chunking gives the same output.

    **Parameters.** ``rate_hz`` (Hz); ``calibrate_s`` (s, 2.0); ``still_gyr_radps``
    (rad/s, 0.15); ``still_acc_mps2`` (m/s², 0.5); ``upright_max_rad`` (rad, 30°).

    **References.** Skog I, Händel P, Nilsson JO, Rantakokko J. Zero-velocity detection —
    an algorithm evaluation. IEEE Trans Biomed Eng 2010;57:2657-2666.
    """

    def __init__(self, rate_hz: float, *, calibrate_s: float = 2.0,
                 still_gyr_radps: float = 0.15, still_acc_mps2: float = 0.5,
                 upright_max_rad: float = math.radians(30.0)) -> None:
        self.rate_hz = float(rate_hz)
        self.calibrate_n = max(1, round(calibrate_s * rate_hz))
        self.still_gyr_radps = still_gyr_radps
        self.still_acc_mps2 = still_acc_mps2
        self.cos_upright = math.cos(upright_max_rad)
        self.reset()

    def reset(self) -> None:
        """Forget the run in progress."""
        self._still_run = 0
        self._q_tail = np.zeros((0, 4))  # the last calibrate_n orientations

    def still(self, body: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
        """Quiet upright standing, per sample (step 1); ``body`` from PelvicAngles.decompose."""
        with np.errstate(invalid="ignore"):
            # the body's vertical axis against earth up: R[2, 2] of Rz·Rx(o)·Ry(t) = cos o cos t
            upright = np.cos(body[:, TILT]) * np.cos(body[:, OBLIQUITY]) > self.cos_upright
            return ((np.sqrt(np.einsum("ij,ij->i", gyr, gyr)) < self.still_gyr_radps)
                    & (np.abs(np.sqrt(np.einsum("ij,ij->i", acc, acc)) - G_MPS2)
                       < self.still_acc_mps2)
                    & upright)

    def update(self, q, body, acc, gyr) -> tuple[int, np.ndarray] | None:
        """(index in the chunk, the standing orientations) when a standing period completes
        in this chunk (step 2); else None. After a hit the rest of the chunk is not read:
        feed it again from the sample after the index to look for the next one."""
        still = self.still(body, acc, gyr)
        # length of the still run ending at each sample, continuing the previous chunk's
        idx = np.arange(len(still))
        last_moving = np.maximum.accumulate(np.where(still, -1, idx)) if len(still) else idx
        run = np.where(last_moving >= 0, idx - last_moving, idx + 1 + self._still_run)
        done = np.flatnonzero(run >= self.calibrate_n)
        if done.size:
            i = int(done[0])
            self._still_run = 0
            return i, np.concatenate([self._q_tail, q[:i + 1]])[-self.calibrate_n:]
        self._still_run = int(run[-1]) if len(run) else self._still_run
        self._q_tail = np.concatenate([self._q_tail, q])[-self.calibrate_n:]
        return None

    def flush(self) -> None:
        """Nothing is held back: a run that has not reached ``calibrate_s`` is no standing."""
        return None


__all__ = ["StandingDetector"]

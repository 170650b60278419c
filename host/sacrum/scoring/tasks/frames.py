"""The body frame the task detectors read (x anterior, y left, z up) and the
contralateral drop of a stance side."""

from __future__ import annotations

import numpy as np

from sacrum.scoring.tasks.common import _side
from sacrum.signal.quaternion import quat_rotate


def to_body_frame(v_sensor: np.ndarray, q_sensor_to_body: np.ndarray) -> np.ndarray:
    """Sensor-frame vectors (N, 3) (e.g. the gyroscope, rad/s) in the body frame
    (x anterior, y left, z up) of the mounting ``q_sensor_to_body`` (w, x, y, z)."""
    v = np.asarray(v_sensor, float)
    return quat_rotate(np.broadcast_to(np.asarray(q_sensor_to_body, float), (*v.shape[:-1], 4)),
                       v)


def contralateral_drop_rad(obliquity_rad: np.ndarray, stance_side: str) -> np.ndarray:
    """Obliquity as the drop of the side opposite ``stance_side`` (rad, + = that side
    lower than standing): +obliquity in left stance, -obliquity in right stance."""
    return np.asarray(obliquity_rad, float) * (1.0 if _side(stance_side) == "L" else -1.0)

"""A capture of a synthetic walk whose pelvic drop and cadence are known.

:func:`phantom_walk` runs :func:`sacrum.testing.walking_phantom.walking_phantom` (stand, walk with
a known
contralateral pelvic drop per stance side, stand) at any rate and mounting and writes what
a sensor streaming it over BLE would have delivered (:func:`sacrum.testing.generator.make_capture`,
with its model of connection events, delivery jitter and clock drift). Its
:class:`PhantomWalk` says the truth to assert an app's numbers against.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PhantomWalk:
    """A phantom capture and what is known about it.

    capture: the capture file.
    rate_hz: sample rate (Hz).
    drop_deg: mean contralateral pelvic drop per stance side, {"L": deg, "R": deg} (left
        stance: the right side drops; the mean of the per-step drops actually drawn).
    step_drop_deg: the drop of every step, in step order (deg).
    cadence_spm: steps per minute while walking (60 / the mean step time).
    n_steps: steps walked; t_ic_s: their initial contacts (s from the first sample),
        sides: stance side of each ("L"/"R").
    samples: samples in the capture.
    truth: everything :func:`walking_phantom` returned.
    """

    capture: Path
    rate_hz: float
    drop_deg: dict[str, float]
    step_drop_deg: tuple[float, ...]
    cadence_spm: float
    n_steps: int
    t_ic_s: tuple[float, ...]
    sides: tuple[str, ...]
    samples: int
    truth: dict[str, Any]


def phantom_walk(path: str | os.PathLike, *, rate_hz: float = 100.0,
                 mount: str | np.ndarray = "recommended",
                 drop_deg: tuple[float, float] = (4.0, 9.0),
                 step_s: tuple[float, float] = (0.57, 0.54), n_steps: int = 40, mtu: int = 247,
                 seed: int = 0, **phantom_options: Any) -> PhantomWalk:
    """Write a phantom walk's capture to ``path`` and return its :class:`PhantomWalk`.

    rate_hz: sample rate (Hz); mount: the sensor's mounting, a spec such as
    ``"x=up,y=left,z=back"`` or ``"recommended"``, or a ``q_sensor_to_body`` quaternion;
    drop_deg: mean drop (deg) on left and right stance; step_s: mean step time (s) on left
    and right stance; n_steps: steps walked; mtu: the ATT MTU of the link (23 makes
    SEGMENTs); seed: the random draws (step-to-step variation, noise). Other keywords go to
    :func:`sacrum.testing.walking_phantom.walking_phantom`.
    """
    from sacrum.signal.angles import quat_from_angles
    from sacrum.signal.mounting import parse_mount
    from sacrum.signal.quaternion import quat_multiply
    from sacrum.testing.generator import LinkModel, make_capture
    from sacrum.testing.walking_phantom import walking_phantom

    q_mount = parse_mount(mount) if isinstance(mount, str) else np.asarray(mount, float)
    ph = walking_phantom(rate_hz=rate_hz, drop_deg=drop_deg, step_s=step_s, n_steps=n_steps,
                         mount=q_mount, seed=seed, **phantom_options)
    a = ph["angles"]
    q = quat_multiply(quat_from_angles(a[:, 0], a[:, 1], a[:, 2] + ph["heading_rad"]), q_mount)
    truth = make_capture(path, q, ph["acc"], ph["gyr"], rate_hz, link=LinkModel(mtu=mtu),
                         seed=seed, header={"note": "sacrum.testing.phantom_walk",
                                            "device": {"name": "sacrum-phantom",
                                                       "firmware": "phantom",
                                                       "imu": "synthetic"}})
    drops = np.asarray(ph["drop"], float)
    sides = [str(s) for s in ph["sides"][:n_steps]]
    by_side = {s: float(np.mean([d for d, side in zip(drops, sides, strict=True) if side == s]))
               for s in ("L", "R")}
    return PhantomWalk(Path(path), float(rate_hz), by_side, tuple(float(d) for d in drops),
                       60.0 / float(np.mean(ph["t_step"])), n_steps,
                       tuple(float(t) for t in ph["t_ic"][:n_steps]), tuple(sides),
                       truth.samples, ph)

"""Fixtures shared by the live-view tests: captures with known pelvic motion.

``phantom_capture`` writes ``sacrum.testing.walking_phantom.walking_phantom`` (left-stance drop 4°,
right-
stance drop 9°, ±0.5° step to step) through the generator and the codec into a capture,
as a device streaming its own orientation over BLE would; the orientation is the
phantom's exact one (mounting "recommended", heading 30°, turning with ``turns``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np

from sacrum.io.transports import Packet
from sacrum.io.transports.replay import ReplayTransport
from sacrum.signal.angles import quat_from_angles
from sacrum.signal.mounting import parse_mount
from sacrum.signal.quaternion import quat_multiply
from sacrum.testing.generator import LinkModel, make_capture
from sacrum.testing.walking_phantom import walking_phantom


def phantom_capture(path: Path, *, n_steps: int = 40, stand_s: float = 3.0,
                    rate_hz: int = 100, link: LinkModel | None = None,
                    annotations=(), **phantom_params) -> dict:
    """``phantom_params`` go to walking_phantom (e.g. ``turns``, ``drop_deg``)."""
    ph = walking_phantom(rate_hz=rate_hz, n_steps=n_steps, stand_s=stand_s, seed=3,
                         heading_deg=30.0, **phantom_params)
    a = ph["angles"]
    q = quat_multiply(quat_from_angles(a[:, 0], a[:, 1], a[:, 2] + ph["heading_rad"]),
                      parse_mount("recommended"))
    make_capture(path, q, ph["acc"], ph["gyr"], rate_hz, link=link, seed=3,
                 annotations=list(annotations))
    return ph


def packets_of(path: Path) -> list[Packet]:
    """A capture's packets as the replay transport yields them (as fast as possible)."""
    async def go():
        async with ReplayTransport(path, speed=None) as tr:
            return [p async for p in tr]

    return asyncio.run(go())


def dark_pixels(widget, level: int = 80) -> int:
    """Pixels of a widget's rendering darker than ``level`` on every channel (drawn traces
    on a white background)."""
    img = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB32)
    buf = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    rgb = buf[:, :img.width() * 4].reshape(img.height(), img.width(), 4)[:, :, :3]
    return int(np.count_nonzero(np.all(rgb < level, axis=2)))

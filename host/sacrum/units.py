"""Physical constants the host uses, defined once.

Every stage on the host that needs the magnitude of gravity imports it from here, so a
sensor at rest reads the same ``|acc|`` in the unit check, the standing detector, the
mounting estimate, the body acceleration, the task detectors and the phantoms. (The
firmware has its own copy, ``firmware/mpu6050.py`` ``_G_MPS2``, with the same value: it
runs under MicroPython and cannot import the host package.)
"""

from __future__ import annotations

#: Standard acceleration of gravity, m/s² (exact by definition: 3rd CGPM, 1901;
#: ISO 80000-3:2019, item 3-10.2). The local value differs by up to 0.3 % (9.78 at the
#: equator, 9.83 at the poles), below an MEMS accelerometer's scale error; the stages
#: that subtract gravity use the measured direction and this magnitude.
G_MPS2 = 9.80665

__all__ = ["G_MPS2"]

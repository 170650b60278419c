"""Test code written against bleak with recorded sacrum sessions, no hardware needed.

* :class:`ReplayDevice` -- a recorded sensor (capture or btsnoop log) that bleak clients
  scan for, connect to, subscribe to and command; :class:`ReplayBleakClient` is a
  ``BleakClient`` on it; ``device.patch_bleak()`` makes it bleak's default backend.
* :class:`Faults` -- packets to drop or corrupt and disconnects to add, on demand.
* :class:`Recorder` -- wraps a ``BleakClient`` and writes what the session received into
  a capture, so a field bug can be replayed exactly.
* :func:`phantom_walk` -- a capture of a synthetic walk with a known pelvic drop and
  cadence, for asserting numbers.
* :func:`sacrum.testing.slowed.slow_motion` -- a recording replayed k times slower (the same
  motion at 1/k the speed), for slower walkers than a dataset holds.
* the pytest plugin ``sacrum.testing.plugin`` (opt-in; fixtures ``sacrum_capture``,
  ``sacrum_replay``, ``sacrum_phantom``): ``docs/testing.md``.
"""

from sacrum.testing.faults import Faults
from sacrum.testing.phantom import PhantomWalk, phantom_walk
from sacrum.testing.recorder import Recorder
from sacrum.testing.recording import Exchange, Outage, Recording, RecordingError, load_recording
from sacrum.testing.replay_client import (
    ReplayBleakClient,
    ReplayClientBackend,
    ReplayDevice,
    ReplayScannerBackend,
    ReplayStats,
)

__all__ = [
    "Exchange", "Faults", "Outage", "PhantomWalk", "Recorder", "Recording", "RecordingError",
    "ReplayBleakClient", "ReplayClientBackend", "ReplayDevice", "ReplayScannerBackend",
    "ReplayStats", "load_recording", "phantom_walk",
]

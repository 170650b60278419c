"""sacrum: measure pelvic control while walking and on stairs.

The package is grouped by stage, in the order data flows through it; no stage imports
a later one:

* ``sacrum.io`` -- transports (replay, BLE, serial), captures, decoding, timebase, IMU CSV;
* ``sacrum.signal`` -- orientation, mounting, pelvic angles, the streaming pipeline;
  ``sacrum.gait`` -- gait events;
* ``sacrum.scoring`` -- per-step metrics, summaries, bands, the score, tasks;
* ``sacrum.analysis`` -- one recording analysed, the object every command reads;
* ``sacrum.apps`` -- the CLI, live view, report, batch, sessions, record, flash;
* ``sacrum.testing`` -- phantoms, the simulated sensor, replay for developers' tests.

The wire and capture formats are defined in protocol/SPEC.md and implemented once, in the
top-level module ``sacrum_protocol``.
"""

__version__ = "0.1.0"

"""sacrum: measure pelvic control while walking and on stairs.

The package is grouped by stage, in the order data flows through it; no stage imports
a later one:

* ``sacrum.io`` -- transports (replay, BLE, serial), captures, decoding, timebase, IMU CSV;
* ``sacrum.signal`` -- orientation, mounting, pelvic angles, the streaming pipeline;
  ``sacrum.signal.gait`` -- gait events;
* ``sacrum.scoring`` -- per-step metrics, summaries, bands, the score, tasks;
* ``sacrum.analysis`` -- one recording analysed, the object every command reads:
  ``sacrum.load(path)`` gives a ``Recording``, ``sacrum.analyze(recording_or_path)`` an
  ``Analysis`` (tidy DataFrames, the summary, the score, ``to_json()``);
* ``sacrum.apps`` -- the CLI, live view, report, batch, sessions, record, flash;
* ``sacrum.testing`` -- phantoms, the simulated sensor, replay for developers' tests.

The wire and capture formats are defined in protocol/SPEC.md and implemented once, in the
top-level module ``sacrum_protocol``.
"""

__version__ = "0.1.0"

# ``sacrum.load`` and ``sacrum.analyze`` (and the result types) come from sacrum.analysis on
# first use, so ``import sacrum`` stays fast (the CLI, the firmware tools) and the
# submodule ``sacrum.analysis`` stays importable under its own name.
_LAZY = {"load": "load", "analyze": "analyze", "Analysis": "Analysis",
         "Recording": "Recording", "Score": "Score"}


def __getattr__(name: str):
    if name in _LAZY:
        from sacrum import analysis

        return getattr(analysis, _LAZY[name])
    raise AttributeError(f"module 'sacrum' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["Analysis", "Recording", "Score", "__version__", "analyze", "load"]

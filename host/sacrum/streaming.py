"""The one streaming-processor protocol every stage of the host follows.

A stage (orientation, mounting, pelvic angles, heading, standing, gait events, step
metrics, task monitors, the live scorer, the pipeline that wires them) is a class with

* its **parameters in** ``__init__`` (units in their names, defaults documented), and only
  there: nothing an ``update`` is given changes them;
* ``update(*chunk) -> output``: the next rows of its inputs (arrays sharing the first axis,
  one row per sample, on one time axis; lost samples are NaN rows), and what became
  final during that chunk: per-sample outputs for exactly these rows (orientation,
  angles), or the events / steps / repetitions decided in it (they may be older than the
  chunk), or the current estimate;
* ``flush() -> output``: the end of the recording: what was still held back (the last
  events, the open repetition), of the same kind as ``update``'s; a stage that holds
  nothing back returns an empty output. Per-sample rows are never held back, so a stage
  whose ``update`` returns rows and events together flushes the events only
  (``Pipeline.flush() -> list[GaitEvent]``);
* ``reset()``: forget the stream (a new recording or attempt), the parameters kept. What a
  stage has *learnt about the sensor* rather than the stream may survive, and its
  ``reset`` docstring says so: the orientation filter keeps its gyroscope bias, the
  pelvic angles their calibration.

An offline run is the same processor fed the whole recording in one ``update`` and
flushed, and **any chunking gives the same output** (the test helper
``tests/streaming.py``, ``assert_chunk_invariant``, checks it for every stage).
State lives in the instance; derived coefficients are computed once in ``__init__`` (as
VQF's Params / State / Coefficients), so ``reset()`` is obvious.

:class:`StreamProcessor` states this as a :class:`typing.Protocol`; it is
``runtime_checkable``, so ``isinstance(x, StreamProcessor)`` says whether ``x`` has the
three methods (it cannot check the chunk invariance: the tests do).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

OutT_co = TypeVar("OutT_co", covariant=True)


@runtime_checkable
class StreamProcessor(Protocol[OutT_co]):
    """A streaming stage: parameters in ``__init__``, ``update(*chunk)``, ``flush()``,
    ``reset()`` (the module docstring gives the contract)."""

    def update(self, *chunk: Any) -> OutT_co:
        """Feed the next rows; return what became final in them."""
        ...

    def flush(self) -> OutT_co:
        """The input has ended: return what was still held back."""
        ...

    def reset(self) -> None:
        """Forget everything fed; keep the parameters."""
        ...


__all__ = ["StreamProcessor"]

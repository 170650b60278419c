"""The one chunk-invariance check of the streaming stages (``sacrum.streaming``).

A stage fed a recording whole and the same stage fed it in chunks of any size must give
the same output. :func:`assert_chunk_invariant` feeds a fresh processor the inputs whole,
then in each of the chunkings given, joins what ``update`` (and ``flush``) returned, and
compares; it also checks that ``reset()`` brings the processor back (fed whole again after
a chunked run, it gives the whole run's output).

Inputs are arrays sharing the first axis (one row per sample), sliced per chunk; wrap
anything passed unchanged to every call (a list of turns, a task name) in :class:`Same`,
and pass None for an optional input left out.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np


@dataclasses.dataclass(frozen=True)
class Same:
    """An argument given unchanged with every chunk."""

    value: Any


def bounds(n: int, sizes: int | Sequence[int] | None) -> list[tuple[int, int]]:
    """``(start, stop)`` of each chunk of ``n`` rows: ``sizes`` None (one chunk), an int
    (chunks of that size) or a sequence of sizes used in turn, cycled (0 is an empty
    chunk; the last chunk may be short)."""
    if sizes is None:
        return [(0, n)]
    seq = [int(sizes)] if np.ndim(sizes) == 0 else [int(k) for k in sizes]
    if not seq or sum(seq) <= 0 or min(seq) < 0:
        raise ValueError(f"chunk sizes {seq} do not advance")
    out, i = [], 0
    for k in itertools.cycle(seq):
        if i >= n:
            break
        out.append((i, min(i + k, n)))
        i += k
    return out


def random_sizes(seed: int, low: int = 1, high: int = 400, count: int = 60) -> list[int]:
    """Chunk sizes drawn uniformly in [low, high) (cycled by :func:`bounds`)."""
    return [int(k) for k in np.random.default_rng(seed).integers(low, high, count)]


def _rows(inputs: Sequence[Any]) -> int:
    lengths = {len(x) for x in inputs if x is not None and not isinstance(x, Same)}
    if len(lengths) != 1:
        raise ValueError(f"inputs must share their number of rows (got {sorted(lengths)})")
    return lengths.pop()


def _chunk(x: Any, a: int, b: int) -> Any:
    if x is None:
        return None
    if isinstance(x, Same):
        return x.value
    return x[a:b]


def feed(processor, inputs: Sequence[Any], sizes=None, *, flush: bool = True) -> list:
    """What ``processor.update`` returned for each chunk of ``inputs`` (then ``flush()``'s
    output, last, when ``flush``)."""
    n = _rows(inputs)
    outs = [processor.update(*(_chunk(x, a, b) for x in inputs)) for a, b in bounds(n, sizes)]
    if flush:
        outs.append(processor.flush())
    return outs


def join(outputs: Iterable[Any]) -> Any:
    """The outputs of several updates as one: per-sample arrays concatenated, lists of
    results (events, steps, repetitions) chained, tuples and dataclasses element-wise,
    None (nothing this chunk) dropped; any other value (a flag, the current estimate)
    the last one."""
    outs = [o for o in outputs if o is not None]
    if not outs:
        return None
    first = outs[0]
    if isinstance(first, np.ndarray):
        return np.concatenate([np.asarray(o) for o in outs])
    if isinstance(first, list):
        return [x for o in outs for x in o]
    if isinstance(first, tuple) and not hasattr(first, "_fields"):
        return tuple(join(parts) for parts in zip(*outs, strict=True))
    if dataclasses.is_dataclass(first) and all(type(o) is type(first) for o in outs):
        fields = [f.name for f in dataclasses.fields(first)]
        joined = {}
        for name in fields:
            values = [getattr(o, name) for o in outs]
            if isinstance(values[0], np.ndarray | list):
                joined[name] = join(values)
            else:
                joined[name] = values[-1]
        return dataclasses.replace(first, **joined)
    return outs[-1]


def assert_same(got: Any, want: Any, *, atol: float = 0.0, where: str = "output") -> None:
    """``got`` equals ``want``: arrays exactly (``atol`` 0; NaN where NaN) or within
    ``atol``, floats likewise, containers and dataclasses member by member."""
    if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        g, w = np.asarray(got), np.asarray(want)
        assert g.shape == w.shape, f"{where}: shape {g.shape} != {w.shape}"
        if atol == 0.0 or g.dtype.kind not in "fc":
            np.testing.assert_array_equal(g, w, err_msg=where)
        else:
            np.testing.assert_allclose(g, w, rtol=0.0, atol=atol, equal_nan=True, err_msg=where)
    elif isinstance(want, float) and isinstance(got, float | int):
        same = (math.isnan(want) and math.isnan(got)) or abs(got - want) <= atol
        assert same, f"{where}: {got!r} != {want!r}"
    elif isinstance(want, list | tuple) and not hasattr(want, "_fields"):
        assert isinstance(got, list | tuple) and len(got) == len(want), (
            f"{where}: {len(got) if isinstance(got, list | tuple) else got!r} items, "
            f"want {len(want)}")
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, atol=atol, where=f"{where}[{k}]")
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{where}: keys differ"
        for k in want:
            assert_same(got[k], want[k], atol=atol, where=f"{where}[{k!r}]")
    elif dataclasses.is_dataclass(want) and not isinstance(want, type):
        assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
        for f in dataclasses.fields(want):
            assert_same(getattr(got, f.name), getattr(want, f.name), atol=atol,
                        where=f"{where}.{f.name}")
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def assert_chunk_invariant(
    make_processor: Callable[[], Any], inputs: Sequence[Any],
    chunk_sizes: Iterable[int | Sequence[int]] = (1, 11, (1, 37, 0, 250)), *,
    collect: Callable[[list], Any] = join, atol: float = 0.0, flush: bool = True,
    check: Callable[[Any, Any], None] | None = None, reset: bool = True,
) -> Any:
    """Whole and chunked runs of ``make_processor()`` on ``inputs`` give the same output.

    ``chunk_sizes``: the chunkings (see :func:`bounds`); ``collect``: the outputs of one
    run (every update's, then flush's) as one comparable value (default :func:`join`);
    ``atol``: the tolerance on floats (0: exact); ``check(processor, collected)``: more
    assertions, after every run; ``reset``: also check that a chunked-run processor,
    reset and fed whole, gives the whole run's output (off for a stage whose ``reset``
    keeps what it learnt). Returns the whole run's collected output.
    """
    whole_proc = make_processor()
    whole = collect(feed(whole_proc, inputs, None, flush=flush))
    if check is not None:
        check(whole_proc, whole)
    proc = None
    for sizes in chunk_sizes:
        proc = make_processor()
        got = collect(feed(proc, inputs, sizes, flush=flush))
        assert_same(got, whole, atol=atol, where=f"chunks {sizes}")
        if check is not None:
            check(proc, got)
    if reset and proc is not None:
        proc.reset()
        again = collect(feed(proc, inputs, None, flush=flush))
        assert_same(again, whole, atol=atol, where="after reset()")
    return whole


__all__ = ["Same", "assert_chunk_invariant", "assert_same", "bounds", "feed", "join",
           "random_sizes"]

"""bench/consistency.py for the tests that hold its paths to their bounds
(tests/test_consistency.py, tests/test_live_converge.py): the bench module, loaded once,
and :func:`run_recordings`, which runs its paths on real recordings of ``../shared/data``.

Each recording's IMU CSV and its firmware-in-the-loop capture (``sacrum simulate``) are
made once per test session, in one folder both test modules share, and a recording whose
every path has run is not run again for a subset of them: the two modules ask for the same
two recordings (IPOL 4-1, Mobilise-D Test11), which the full suite then simulates and
replays once. A helper module (as tests/streaming.py), not a test module.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "consistency.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_consistency", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


consistency = _load_bench()
_done: dict[str, tuple[tuple[str, ...] | None, dict]] = {}  # name: (paths run, results)


def _covers(ran: tuple[str, ...] | None, want: tuple[str, ...] | None) -> bool:
    return ran is None or (want is not None and set(want) <= set(ran))


def run_recordings(tmp_path_factory: pytest.TempPathFactory, names: list[str],
                   only: tuple[str, ...] | None = None) -> dict[str, dict]:
    """{name: {path: numbers}} of ``consistency.run_paths`` on each recording in ``names``
    (only the paths in ``only``, or all); skips, with the reason, without the data."""
    if not consistency.DATA.is_dir():
        pytest.skip(f"no reference data at {consistency.DATA}")
    work = tmp_path_factory.getbasetemp() / "consistency"
    work.mkdir(exist_ok=True)
    out = {n: _done[n][1] for n in names if n in _done and _covers(_done[n][0], only)}
    todo = [n for n in names if n not in out]
    for name, t, acc, gyr in consistency.recordings(todo) if todo else ():
        csv = work / f"{name}.csv"
        if not csv.exists():
            consistency.write_imu_csv(csv, t, acc, gyr)
        out[name] = consistency.run_paths(csv, work, only, reuse_capture=True)[0]
        _done[name] = (only, out[name])
    assert sorted(out) == sorted(names)
    return out

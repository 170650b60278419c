"""``sacrum batch``: analyse a folder of captures in parallel, resumably, into one table.

Steps of :func:`run_batch`:

1. Find the captures (``*.sacrum`` under FOLDER, recursively, in name order).
2. Key each by the SHA-256 of its bytes and of the analysis options and sacrum version
   (:func:`job_key`). A capture whose key has a result file in the results folder
   (``<out>.parts/<key>.json``, the analysis document) is done: it is read back, not
   analysed again. So an interrupted batch picks up where it stopped, and a capture that is
   renamed or moved is not analysed twice.
3. Analyse the others with :func:`analyze_capture` (the same function everywhere): in this
   process (``jobs`` 1), in a process pool (``jobs`` > 1) or on a Dask cluster
   (``scheduler``: the workers must read the captures' paths; they send the analysis back,
   so only this machine writes). Each result file is written as it arrives (atomically).
4. A capture that cannot be analysed becomes a row with ``status`` "error" and the message;
   the others go on. Errors are not stored as results, so a rerun tries them again.
5. One row per capture (:data:`COLUMNS`, docs/exports.md) to CSV or Parquet (pyarrow).
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import hashlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sacrum import __version__
from sacrum.apps.sessions import sha256_of
from sacrum.io.private_files import make_private_dir, open_private, write_private_text

log = logging.getLogger(__name__)

#: Result table columns and their types ("str", "float", "int", "bool").
COLUMNS: dict[str, str] = {
    "path": "str", "sha256": "str", "status": "str", "error": "str", "cached": "bool",
    "sacrum_version": "str", "duration_s": "float", "rate_hz": "float",
    "loss_fraction": "float", "calibrated": "bool", "calibration_reference": "str",
    "mounting_source": "str", "mounting_confidence": "float", "tasks": "str",
    "metrics_task": "str", "score": "float", "n_steps": "int", "n_steps_used": "int",
    "cadence_spm": "float", "contralateral_drop_L_deg": "float",
    "contralateral_drop_R_deg": "float", "contralateral_drop_sd_L_deg": "float",
    "contralateral_drop_sd_R_deg": "float", "symmetry_index_drop_pct": "float",
    "symmetry_index_step_time_pct": "float", "step_time_mean_s": "float",
    "stride_time_mean_s": "float", "result_file": "str",
}


class BatchError(ValueError):
    """A batch that cannot start (no captures, an output it cannot write)."""


def job_key(content_sha256: str, options: dict[str, Any]) -> str:
    """The result's name: the capture's content, the options and the sacrum version (a new
    version analyses again; the old results stay)."""
    opts = json.dumps({"options": options, "version": __version__}, sort_keys=True)
    return f"{content_sha256[:24]}-{hashlib.sha256(opts.encode()).hexdigest()[:8]}"


def analyze_capture(path: str, options: dict[str, Any]) -> dict[str, Any]:
    """Analyse one capture: {"doc": analysis} or {"error": one line}. Never raises for a bad
    file, so one bad capture cannot stop a batch (runs in a worker process or on Dask)."""
    from sacrum.analysis import analyze
    from sacrum.io.capture import CaptureReader

    try:
        CaptureReader(path)  # a *.sacrum that is not a capture: say so, not "missing columns"
        return {"doc": analyze(path, **options).to_json()}
    except Exception as e:  # every failure is reported per file, not lost
        text = " ".join(x.strip() for x in str(e).splitlines() if x.strip())
        if isinstance(e, ValueError | RuntimeError | OSError):  # the file's fault
            log.debug("batch: %s failed", path, exc_info=True)
            return {"error": f"{type(e).__name__}: {text}"}
        log.info("batch: %s: internal error", path, exc_info=True)  # a bug: -v shows where
        return {"error": f"internal error (a bug in sacrum): {type(e).__name__}: {text}"}


def row_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The table row of an analysis document (the session-level numbers)."""
    from sacrum.analysis import steps_of

    summ = doc["summary"]
    head = next((t for t in summ["tasks"] if t["task"] == summ.get("metrics_task")), {})
    drop = summ.get("contralateral_drop_deg") or {}
    sd = summ.get("contralateral_drop_sd_deg") or {}
    si = summ.get("symmetry_index") or {}
    return {
        "sacrum_version": doc.get("sacrum_version"),
        "duration_s": doc["input"]["duration_s"], "rate_hz": doc["input"]["rate_hz"],
        "loss_fraction": doc["loss"].get("loss_fraction"),
        "calibrated": doc["calibration"].get("calibrated"),
        "calibration_reference": doc["calibration"].get("reference"),
        "mounting_source": doc["mounting"].get("source"),
        "mounting_confidence": doc["mounting"].get("confidence"),
        "tasks": ",".join(t["task"] for t in summ["tasks"]),
        "metrics_task": summ.get("metrics_task"), "score": summ.get("score"),
        "n_steps": len(steps_of(doc)), "n_steps_used": head.get("n_steps_used"),
        "cadence_spm": summ.get("cadence_spm"),
        "contralateral_drop_L_deg": drop.get("L"), "contralateral_drop_R_deg": drop.get("R"),
        "contralateral_drop_sd_L_deg": sd.get("L"), "contralateral_drop_sd_R_deg": sd.get("R"),
        "symmetry_index_drop_pct": si.get("drop"),
        "symmetry_index_step_time_pct": si.get("step_time"),
        "step_time_mean_s": (summ.get("step_time_s") or {}).get("mean"),
        "stride_time_mean_s": (summ.get("stride_time_s") or {}).get("mean"),
    }


@dataclass
class BatchResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    analysed: int = 0
    cached: int = 0
    failed: int = 0


class Progress:
    """A one-line progress bar on a terminal stream (nothing when ``stream`` is None)."""

    def __init__(self, total: int, stream: TextIO | None) -> None:
        self.total, self.stream, self.done, self.failed = total, stream, 0, 0
        self.t0 = time.monotonic()

    def step(self, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
        if self.stream is None:
            return
        width = 30
        fill = round(width * self.done / max(self.total, 1))
        rate = self.done / max(time.monotonic() - self.t0, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else math.inf
        self.stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total}"
                          f"  {self.failed} failed  eta {eta:5.0f} s ")
        self.stream.flush()
        if self.done == self.total:
            self.stream.write("\n")


def find_captures(folder: str | os.PathLike) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise BatchError(f"{folder} is not a folder")
    return sorted(p for p in folder.rglob("*.sacrum") if p.is_file())


def parts_dir(out: str | os.PathLike) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".parts")


def _write_atomic(path: Path, text: str) -> None:
    write_private_text(path, text)  # 0600, atomic (sacrum.io.private_files)


def _submit_local(jobs: int) -> tuple[Callable, Callable[[], None]]:
    if jobs <= 1:
        def run(items: list[tuple[str, dict]]) -> Iterable[tuple[int, dict]]:
            for i, (p, o) in enumerate(items):
                yield i, analyze_capture(p, o)
        return run, lambda: None
    pool = cf.ProcessPoolExecutor(max_workers=jobs)

    def run_pool(items: list[tuple[str, dict]]) -> Iterable[tuple[int, dict]]:
        futures = {pool.submit(analyze_capture, p, o): i for i, (p, o) in enumerate(items)}
        for f in cf.as_completed(futures):
            yield futures[f], _result(f.result)
    return run_pool, lambda: pool.shutdown(cancel_futures=True)


def _distributed():
    """Dask's ``distributed`` module, or a BatchError that says how to install it."""
    try:
        import distributed
    except ImportError as e:
        raise BatchError(f"--scheduler needs Dask's distributed package (import of "
                         f"{e.name or 'distributed'} failed): pip install 'sacrum[scale]'; or "
                         "leave out --scheduler (--jobs N runs on this machine)") from e
    return distributed


def _submit_dask(scheduler: str) -> tuple[Callable, Callable[[], None]]:
    dist = _distributed()
    as_completed = dist.as_completed
    client = dist.Client(scheduler, set_as_default=False)

    def run(items: list[tuple[str, dict]]) -> Iterable[tuple[int, dict]]:
        futures = [client.submit(analyze_capture, p, o, pure=False) for p, o in items]
        index = {f.key: i for i, f in enumerate(futures)}
        with client.as_current():  # as_completed looks for the current client
            for f in as_completed(futures):
                yield index[f.key], _result(f.result)
    return run, client.close


def _result(get: Callable[[], dict]) -> dict:
    """A worker that died (killed, out of memory) is one failed file, not a failed batch."""
    try:
        return get()
    except Exception as e:  # reported per file
        return {"error": f"worker failed: {type(e).__name__}: {e}"}


def run_batch(folder: str | os.PathLike, out: str | os.PathLike, *, jobs: int = 1,
              scheduler: str | None = None, options: dict[str, Any] | None = None,
              progress: TextIO | None = None) -> BatchResult:
    """Steps in the module docstring. ``options``: keyword arguments of
    ``sacrum.analysis.analyze`` (task, mount, bands path). Writes ``out`` (.csv or .parquet)
    and the results folder ``<out>.parts``."""
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise BatchError(f"{out}: the table must be .csv or .parquet")
    if out.suffix.lower() == ".parquet":
        _pyarrow()  # fail before hours of work, not after
    if scheduler:
        _distributed()
    options = {k: v for k, v in (options or {}).items() if v is not None}
    paths = find_captures(folder)
    if not paths:
        raise BatchError(f"no captures (*.sacrum) under {folder}")
    parts = parts_dir(out)
    make_private_dir(parts)
    result = BatchResult()
    bar = Progress(len(paths), progress)
    rows: list[dict[str, Any] | None] = [None] * len(paths)
    todo: list[tuple[int, str]] = []
    for i, p in enumerate(paths):  # step 2
        try:
            digest = sha256_of(p)
        except OSError as e:
            rows[i] = _error_row(p, "", f"cannot read: {e.strerror}")
            result.failed += 1
            bar.step(True)
            continue
        key = job_key(digest, options)
        done = parts / f"{key}.json"
        if done.is_file():
            try:
                doc = json.loads(done.read_text(encoding="utf-8"))
                rows[i] = _ok_row(p, digest, doc, done, cached=True)
                result.cached += 1
                bar.step()
                continue
            except (ValueError, KeyError):
                log.warning("%s: damaged result file, analysing again", done)
        todo.append((i, digest))
    run, close = _submit_dask(scheduler) if scheduler else _submit_local(jobs)
    try:
        items = [(str(paths[i]), options) for i, _ in todo]
        for k, res in run(items):  # step 3
            i, digest = todo[k]
            if "doc" in res:
                done = parts / f"{job_key(digest, options)}.json"
                _write_atomic(done, json.dumps(res["doc"], ensure_ascii=False))
                rows[i] = _ok_row(paths[i], digest, res["doc"], done, cached=False)
                result.analysed += 1
            else:  # step 4
                rows[i] = _error_row(paths[i], digest, res["error"])
                result.failed += 1
                log.error("%s: %s", paths[i], res["error"])
            bar.step("error" in res)
    finally:
        close()
    result.rows = [r for r in rows if r is not None]
    write_table(result.rows, out)  # step 5
    return result


def _ok_row(path: Path, digest: str, doc: dict, done: Path, *, cached: bool) -> dict[str, Any]:
    return {**dict.fromkeys(COLUMNS), **row_of(doc), "path": str(path), "sha256": digest,
            "status": "ok", "error": None, "cached": cached, "result_file": str(done)}


def _error_row(path: Path, digest: str, error: str) -> dict[str, Any]:
    return {**dict.fromkeys(COLUMNS), "path": str(path), "sha256": digest or None,
            "status": "error", "error": error, "cached": False}


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as e:
        raise BatchError("writing Parquet needs pyarrow (pip install pyarrow); or give an "
                         "--out ending in .csv") from e
    return pyarrow


def write_table(rows: list[dict[str, Any]], out: str | os.PathLike) -> None:
    """The rows as CSV (empty cell = no value) or Parquet (typed columns, nulls)."""
    out = Path(out)
    if out.suffix.lower() == ".parquet":
        pa = _pyarrow()
        types = {"str": pa.string(), "float": pa.float64(), "int": pa.int64(),
                 "bool": pa.bool_()}
        schema = pa.schema([(k, types[t]) for k, t in COLUMNS.items()])
        table = pa.Table.from_pylist([{k: r.get(k) for k in COLUMNS} for r in rows],
                                     schema=schema)
        with open_private(out, "wb") as f:  # 0600, atomic
            pa.parquet.write_table(table, f)
    else:
        with open_private(out, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for r in rows:
                w.writerow(["" if r.get(k) is None else r[k] for k in COLUMNS])


def print_summary(result: BatchResult, out: Path, stream: TextIO | None = None) -> None:
    # sys.stdout of the call, not of the import (a default argument is bound once)
    stream = sys.stdout if stream is None else stream
    stream.write(f"{len(result.rows)} captures: {result.analysed} analysed, {result.cached} "
                 f"already done, {result.failed} failed; wrote {out}\n")
    for r in result.rows:
        if r["status"] == "error":
            stream.write(f"  failed: {r['path']}: {r['error']}\n")

"""Sessions: one capture of one person on one date, with its analysis; and a library of them.

A session is what the report shows: the analysis document of ``sacrum analyze``
(docs/analysis-json.md) plus the facts the analysis does not hold: the person's
pseudonymous ID, the date, the device and firmware (from the capture's header).

The library is a folder per person (docs/report.md, "Sessions library")::

    LIBRARY/<person>/<date>_<capture stem>/
        capture.sacrum    the capture, byte for byte (its SHA-256 in session.json)
        analysis.json     the analysis of it (sacrum analyze)
        session.json      person, date, original file name, sha256, analysis options,
                          sacrum version, history of re-analyses
        bands.toml        the bands file the analysis used, when one was given
        report.html       written by ``sacrum report``

Re-analysis (:meth:`Library.reanalyze`) runs the current sacrum on the stored capture with
the stored options and compares the result with the stored numbers field by field
(:func:`diff_analyses`): either it reproduces them within a tolerance, or it lists what
changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sacrum import __version__

log = logging.getLogger(__name__)

#: Environment variable naming the default library folder.
LIBRARY_ENV = "SACRUM_LIBRARY"
DEFAULT_LIBRARY = Path.home() / "sacrum-sessions"
_PERSON_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Fields that differ between any two runs and say nothing about the numbers.
DIFF_IGNORE = ("sacrum_version", "input.path")


class SessionError(ValueError):
    """A session or library that cannot be used; the message says what to do."""


@dataclass
class Session:
    """One analysed capture of one person.

    analysis: the analysis document (docs/analysis-json.md; degrees, seconds).
    person_id: pseudonymous ID as entered ("" if none was given).
    date: ISO date (YYYY-MM-DD) of the recording.
    device: the capture header's ``device`` (name, firmware, imu); {} for a CSV.
    capture: the capture file, if known. folder: the library folder, if from a library.
    """

    analysis: dict[str, Any]
    person_id: str = ""
    date: str = ""
    device: dict[str, Any] = field(default_factory=dict)
    capture: Path | None = None
    folder: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.person_id or '(no ID)'} {self.date}"


def check_person_id(person_id: str) -> str:
    """The ID, or SessionError: a pseudonym of letters, digits, '.', '_', '-' (it names a
    folder; a real name does not belong in a report file name)."""
    if not _PERSON_ID.fullmatch(person_id or ""):
        raise SessionError(f"person ID {person_id!r} cannot be used: give a pseudonymous ID of "
                           "letters, digits, '.', '_' or '-' (up to 64), e.g. P017")
    return person_id


def check_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as e:
        raise SessionError(f"date {text!r} is not an ISO date; give e.g. 2025-03-14") from e


def capture_facts(path: str | os.PathLike) -> tuple[dict[str, Any], str]:
    """(device, ISO date) from a capture's header record; ({}, "") if it is not a capture."""
    import sacrum_protocol as sp
    from sacrum.io.capture import CaptureReader

    with open(path, "rb") as f:
        if f.read(len(sp.CAPTURE_MAGIC)) != sp.CAPTURE_MAGIC:
            return {}, ""
    reader = CaptureReader(path)
    created = str(reader.header.get("created_utc") or "")
    return dict(reader.device), created[:10] if re.match(r"\d{4}-\d\d-\d\d", created) else ""


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex), read a MiB at a time: a capture's identity."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def session_from_capture(path: str | os.PathLike, person_id: str = "", day: str | None = None,
                         **analyze_options: Any) -> Session:
    """Analyse a capture (or IMU CSV) with ``sacrum.analysis.analyze`` and wrap it."""
    from sacrum.analysis import analyze

    doc = analyze(path, **analyze_options).to_json()
    device, created = capture_facts(path)
    return Session(doc, person_id, check_date(day) if day else created, device, Path(path))


#: The parts of an analysis document the report and the library read (docs/analysis-json.md).
_ANALYSIS_PARTS = ("input", "mounting", "calibration", "loss", "summary", "steps")


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file, or a SessionError naming the file and where it stops being JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise SessionError(f"{path} is not a JSON text file (byte {e.start})") from e
    except json.JSONDecodeError as e:
        raise SessionError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}, "
                           f"column {e.colno})") from e


def check_analysis(doc: Any, path: str | os.PathLike) -> dict[str, Any]:
    """``doc`` if it is a whole analysis document this version can read, else a
    SessionError that says what to do (an incomplete or newer document, not an analysis)."""
    from sacrum.analysis import FORMAT_VERSION

    how = "make one with `sacrum analyze CAPTURE --json OUT`"
    if not isinstance(doc, dict) or doc.get("format") != "sacrum-analysis":
        what = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise SessionError(f"{path} is not a sacrum analysis (format {what!r}); {how}")
    version = doc.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise SessionError(f"{path} is an analysis of format {version}, newer than this sacrum "
                           f"reads ({FORMAT_VERSION}): update sacrum, or analyse the capture "
                           "again with this one")
    if version == 1 and "strides" in doc and "steps" not in doc:  # format 1: steps were strides
        doc["steps"] = doc.pop("strides")
    missing = [k for k in _ANALYSIS_PARTS if not isinstance(doc.get(k), dict | list)]
    if missing or not isinstance(doc["summary"].get("tasks"), list):
        raise SessionError(f"{path} is an incomplete analysis (missing {missing or ['tasks']}); "
                           + how)
    return doc


def session_from_json(path: str | os.PathLike, person_id: str = "",
                      day: str | None = None) -> Session:
    """A stored analysis document; the device from its capture when that is still there."""
    doc = check_analysis(read_json(path), path)
    capture = Path(doc.get("input", {}).get("path") or "")
    device, created = capture_facts(capture) if capture.is_file() else ({}, "")
    return Session(doc, person_id, check_date(day) if day else created, device,
                   capture if capture.is_file() else None)


def load_session(folder: str | os.PathLike) -> Session:
    """A session folder of a library."""
    folder = Path(folder)
    try:
        meta = read_json(folder / "session.json")
        doc = check_analysis(read_json(folder / "analysis.json"), folder / "analysis.json")
    except FileNotFoundError as e:
        raise SessionError(f"{folder} is not a session folder (no {Path(e.filename).name}); "
                           "add captures with `sacrum sessions add`") from e
    if not isinstance(meta, dict) or not all(isinstance(meta.get(k), str)
                                             for k in ("person_id", "date")):
        raise SessionError(f"{folder / 'session.json'} lacks the person_id and date of the "
                           "session; add the capture again with `sacrum sessions add`")
    return Session(doc, meta["person_id"], meta["date"], meta.get("device") or {},
                   folder / "capture.sacrum", folder, meta)


def open_sessions(items: list[str], person_id: str = "", day: str | None = None,
                  **analyze_options: Any) -> list[Session]:
    """Sessions from the command line's SESSION arguments: a library session folder, a
    library person folder (all its sessions), an analysis JSON or a capture (analysed
    now). In date order."""
    out: list[Session] = []
    for item in items:
        p = Path(item)
        if p.is_dir() and (p / "session.json").is_file():
            out.append(load_session(p))
        elif p.is_dir():
            found = sorted(q.parent for q in p.glob("*/session.json"))
            if not found:
                raise SessionError(f"{p}: no sessions in this folder")
            out += [load_session(q) for q in found]
        elif p.suffix.lower() == ".json":
            out.append(session_from_json(p, person_id, day))
        else:
            out.append(session_from_capture(p, person_id, day, **analyze_options))
    return sorted(out, key=lambda s: s.date)


# ---- the library --------------------------------------------------------------------------


def default_library() -> Path:
    return Path(os.environ.get(LIBRARY_ENV) or DEFAULT_LIBRARY)


class Library:
    """The on-disk library of sessions (module docstring)."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else default_library()

    def persons(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and any(p.glob("*/session.json")))

    def sessions(self, person_id: str | None = None) -> list[Session]:
        people = [person_id] if person_id else self.persons()
        out = []
        for person in people:
            for meta in sorted((self.root / person).glob("*/session.json")):
                out.append(load_session(meta.parent))
        return sorted(out, key=lambda s: (s.person_id, s.date))

    def add(self, capture: str | os.PathLike, person_id: str, day: str | None = None, *,
            task: str | None = None, mount: str | None = None,
            bands: str | os.PathLike | None = None) -> Session:
        """Copy a capture into the library, analyse it and store the analysis. The same
        capture (by content) added twice for the same person is refused."""
        from sacrum.analysis import analyze, write_json

        capture = Path(capture)
        check_person_id(person_id)
        device, created = capture_facts(capture)
        if not device and not created:
            raise SessionError(f"{capture} is not a sacrum capture: the library keeps captures "
                               "(record one, or convert with `sacrum simulate`)")
        day = check_date(day) if day else created
        if not day:
            raise SessionError(f"{capture}: its header has no date; give --date")
        digest = sha256_of(capture)
        for s in self.sessions(person_id):
            if s.meta.get("capture_sha256") == digest:
                raise SessionError(f"{capture} is already in the library as {s.folder}")
        person_dir = self.root / person_id
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", capture.stem)[:40] or "capture"
        folder = person_dir / f"{day}_{stem}"
        k = 2
        while folder.exists():
            folder = person_dir / f"{day}_{stem}-{k}"
            k += 1
        folder.mkdir(parents=True)
        try:
            shutil.copyfile(capture, folder / "capture.sacrum")
            bands_file = None
            if bands is not None:
                bands_file = folder / "bands.toml"
                shutil.copyfile(bands, bands_file)
            doc = analyze(folder / "capture.sacrum", task=task, mount=mount,
                          bands=bands_file).to_json()
            write_json(doc, folder / "analysis.json")
            meta = {"person_id": person_id, "date": day, "original_name": capture.name,
                    "capture_sha256": digest, "device": device,
                    "options": {"task": task, "mount": mount,
                                "bands": "bands.toml" if bands_file else None},
                    "sacrum_version": __version__,
                    "added_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                    "history": []}
            _write_meta(folder, meta)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # nothing half-added stays behind
            raise
        return load_session(folder)

    def reanalyze(self, session: Session, *, update: bool = False, rel_tol: float = 1e-6,
                  abs_tol: float = 1e-6) -> list[Change]:
        """Analyse the stored capture again with this sacrum and the stored options; the
        changes against the stored analysis (empty: reproduced). With ``update`` a changed
        analysis replaces the stored one, which is kept as ``analysis-<version>-<n>.json``."""
        from sacrum.analysis import analyze, write_json

        folder = session.folder
        if folder is None:
            raise SessionError("only a library session can be re-analysed")
        meta = session.meta
        if sha256_of(folder / "capture.sacrum") != meta.get("capture_sha256"):
            raise SessionError(f"{folder / 'capture.sacrum'} no longer matches the SHA-256 "
                               "recorded when it was added: it was changed on disk")
        opts = dict(meta.get("options") or {})
        if opts.get("bands"):
            opts["bands"] = folder / opts["bands"]
        new = analyze(folder / "capture.sacrum", **opts).to_json()
        # The stored path is the one analysed: compare like with like.
        new["input"]["path"] = session.analysis.get("input", {}).get("path")
        changes = diff_analyses(session.analysis, new, rel_tol=rel_tol, abs_tol=abs_tol)
        entry = {"utc": datetime.now(UTC).isoformat(timespec="seconds"),
                 "from_version": session.analysis.get("sacrum_version"),
                 "to_version": __version__, "changes": len(changes), "updated": False}
        if changes and update:
            n = len(list(folder.glob("analysis-*.json"))) + 1
            old = folder / f"analysis-{session.analysis.get('sacrum_version')}-{n}.json"
            (folder / "analysis.json").rename(old)
            write_json(new, folder / "analysis.json")
            entry.update(updated=True, previous=old.name)
            meta["sacrum_version"] = __version__
        meta.setdefault("history", []).append(entry)
        _write_meta(folder, meta)
        return changes


def _write_meta(folder: Path, meta: dict[str, Any]) -> None:
    tmp = folder / "session.json.tmp"
    tmp.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(folder / "session.json")


# ---- re-analysis diff ---------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One field that differs: ``path`` as "summary.tasks[0].cadence_spm"; ``old``/``new``
    the values (a list's length for a list that changed length)."""

    path: str
    old: Any
    new: Any

    def __str__(self) -> str:
        if isinstance(self.old, int | float) and isinstance(self.new, int | float) \
                and not isinstance(self.old, bool) and not isinstance(self.new, bool):
            return f"{self.path}: {self.old:.6g} → {self.new:.6g} ({self.new - self.old:+.3g})"
        return f"{self.path}: {_short(self.old)} → {_short(self.new)}"


def _short(x: Any) -> str:
    s = json.dumps(x, ensure_ascii=False)
    return s if len(s) <= 80 else s[:77] + "..."


def diff_analyses(old: dict[str, Any], new: dict[str, Any], *, rel_tol: float = 1e-6,
                  abs_tol: float = 1e-6, ignore: tuple[str, ...] = DIFF_IGNORE) -> list[Change]:
    """Field-by-field differences of two analysis documents. Numbers are equal within
    ``rel_tol`` or ``abs_tol`` (in the field's own unit); a list of different length is one
    change of ``path.length`` (its common items are still compared); ``ignore`` lists dotted
    paths never compared. The summary's changes come first: they are what a reader sees."""
    out: list[Change] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if path in ignore:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in list(a) + [k for k in b if k not in a]:
                walk(a.get(k, _MISSING), b.get(k, _MISSING), f"{path}.{k}" if path else k)
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                out.append(Change(f"{path}.length", len(a), len(b)))
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(x, y, f"{path}[{i}]")
        elif _number(a) and _number(b):
            if not math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol):
                out.append(Change(path, a, b))
        elif a != b:
            out.append(Change(path, "(absent)" if a is _MISSING else a,
                              "(absent)" if b is _MISSING else b))

    walk(old, new, "")
    return sorted(out, key=lambda c: (not c.path.startswith("summary"), ))


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


_MISSING = _Missing()


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)

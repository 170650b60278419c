"""Sessions: one capture of one person on one date, with its analysis; and a library of them.

A session is what the report shows: the analysis document of ``sacrum analyze``
(docs/analysis-json.md) plus the facts the analysis does not hold: the person's
pseudonymous ID, the date, the device and firmware (from the capture's header).

The library is a folder per person, named by pseudonym only (docs/report.md, "Sessions
library"; docs/security.md)::

    LIBRARY/library.json  {"format": "sacrum-library", "format_version": 2}
    LIBRARY/<person>/<date>_<n>/
        capture.sacrum    the capture, byte for byte (its SHA-256 in session.json)
        analysis.json     the analysis of it (sacrum analyze; input.path "capture.sacrum")
        session.json      person, date, sha256, device, analysis options,
                          sacrum version, history of re-analyses
        bands.toml        the bands file the analysis used, when one was given

No name is in a path, a file name or a file: ``<person>`` is a code with a digit (P017),
``<n>`` counts the sessions of a day, and the capture's own file name (which may name the
person) is not kept. Files are 0600, folders 0700 (:mod:`sacrum.io.private_files`). Names
live in the clinician's separate name map (:mod:`sacrum.apps.names`). A library written
before format 2 (session folders named after the capture files, the original file name in
session.json, files readable by other accounts) is refused until :func:`migrate_library`
(``sacrum sessions migrate``) has converted it.

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
from sacrum.io.private_files import (
    DIR_MODE,
    FILE_MODE,
    copy_private,
    make_private,
    make_private_dir,
    write_private_text,
)

log = logging.getLogger(__name__)

#: Environment variable naming the default library folder.
LIBRARY_ENV = "SACRUM_LIBRARY"
DEFAULT_LIBRARY = Path.home() / "sacrum-sessions"
_PERSON_ID = re.compile(r"(?=[^0-9]*[0-9])[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: The library's format marker, in its root folder; format 2: pseudonymous folder names,
#: private modes, no original file names.
LIBRARY_FILE = "library.json"
LIBRARY_FORMAT_VERSION = 2
_SESSION_DIR = re.compile(r"\d{4}-\d\d-\d\d_\d+")
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
    """The ID, or SessionError: a pseudonymous code of letters, digits, '.', '_', '-' with
    at least one digit (it names a folder and heads a report; the digit keeps a name from
    being taken for one: "P017" is a code, "Anna" is not)."""
    if not _PERSON_ID.fullmatch(person_id or ""):
        raise SessionError(f"person ID {person_id!r} cannot be used: give a pseudonymous code "
                           "of letters, digits, '.', '_' or '-' (up to 64) with a digit, e.g. "
                           "P017 (a name goes in the name map: `sacrum sessions names set`)")
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
    """A stored analysis document; the device from its capture when that is still there
    (a relative ``input.path``, as a library stores it, is relative to the document)."""
    doc = check_analysis(read_json(path), path)
    capture = Path(doc.get("input", {}).get("path") or "")
    if str(capture) and not capture.is_absolute() and not capture.is_file():
        capture = Path(path).parent / capture
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

    def check_format(self) -> None:
        """SessionError unless the library is absent, empty or of this format: a library of
        an earlier sacrum is converted first (``sacrum sessions migrate``), one of a newer
        sacrum is not touched."""
        marker = self.root / LIBRARY_FILE
        if marker.is_file():
            doc = read_json(marker)
            version = doc.get("format_version") if isinstance(doc, dict) else None
            if not isinstance(version, int) or doc.get("format") != "sacrum-library":
                raise SessionError(f"{marker} is not a sacrum library marker; is {self.root} "
                                   "the library?")
            if version > LIBRARY_FORMAT_VERSION:
                raise SessionError(f"{self.root} is a library of format {version}, newer than "
                                   f"this sacrum reads ({LIBRARY_FORMAT_VERSION}): update sacrum")
            if version == LIBRARY_FORMAT_VERSION:
                return
        elif not (self.root.is_dir() and any(self.root.glob("*/*/session.json"))):
            return  # absent or empty: format 2 from its first session on
        raise SessionError(f"{self.root} was written by an earlier sacrum (session folders "
                           "named after the capture files, files other accounts can read): "
                           "convert it once with `sacrum sessions migrate --library "
                           f"{self.root}`")

    def person_folder(self, person_id: str) -> Path:
        """The folder of a person's sessions (checked ID, checked library format)."""
        self.check_format()
        return self.root / check_person_id(person_id)

    def persons(self) -> list[str]:
        if not self.root.is_dir():
            return []
        self.check_format()
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and any(p.glob("*/session.json")))

    def sessions(self, person_id: str | None = None) -> list[Session]:
        self.check_format()
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
        from sacrum.analysis import analyze

        capture = Path(capture)
        check_person_id(person_id)
        self.check_format()
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
        self._make_root()
        person_dir = make_private_dir(self.root / person_id)
        # <date>_<n>: the capture's file name may name the person, so it names nothing here
        k = 1
        while True:
            folder = person_dir / f"{day}_{k}"
            try:
                os.mkdir(folder, DIR_MODE)
                break
            except FileExistsError:
                k += 1
        make_private_dir(folder)
        try:
            copy_private(capture, folder / "capture.sacrum")
            bands_file = None
            if bands is not None:
                bands_file = folder / "bands.toml"
                copy_private(bands, bands_file)
            doc = analyze(folder / "capture.sacrum", task=task, mount=mount,
                          bands=bands_file).to_json()
            doc["input"]["path"] = "capture.sacrum"  # relative to the session folder
            _write_analysis(doc, folder / "analysis.json")
            meta = {"person_id": person_id, "date": day,
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
        from sacrum.analysis import analyze

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
            _write_analysis(new, folder / "analysis.json")
            entry.update(updated=True, previous=old.name)
            meta["sacrum_version"] = __version__
        meta.setdefault("history", []).append(entry)
        _write_meta(folder, meta)
        return changes


    def _make_root(self) -> None:
        """The library's root folder (0700 when created here) and its format marker."""
        make_private_dir(self.root)
        marker = self.root / LIBRARY_FILE
        if not marker.exists():
            write_private_text(marker, json.dumps(
                {"format": "sacrum-library", "format_version": LIBRARY_FORMAT_VERSION}) + "\n")


def _write_meta(folder: Path, meta: dict[str, Any]) -> None:
    write_private_text(folder / "session.json",
                       json.dumps(meta, indent=1, ensure_ascii=False) + "\n")


def _write_analysis(doc: dict[str, Any], path: Path) -> None:
    """An analysis document as ``sacrum.analysis.write_json`` writes it, 0600, atomically."""
    write_private_text(path, json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False)
                       + "\n")


# ---- migration from format 1 --------------------------------------------------------------


@dataclass
class Migration:
    """What :func:`migrate_library` did: session folders renamed (old → new, relative to the
    library), original file names moved to the name map, files and folders made private,
    analyses whose ``input.path`` (an absolute path, maybe with a user name) was replaced."""

    renamed: dict[str, str] = field(default_factory=dict)
    original_files: dict[str, str] = field(default_factory=dict)
    made_private: int = 0
    analyses_rewritten: int = 0
    persons_renamed: dict[str, str] = field(default_factory=dict)


def migrate_library(root: str | os.PathLike, names: Any | None = None, *,
                    rename: dict[str, str] | None = None) -> Migration:
    """Convert a library of an earlier sacrum (format 1) to format 2 in place.

    1. Person folders: each must be a pseudonymous code (:func:`check_person_id`); one that
       is not (a name, "anna") is refused unless ``rename`` maps it to a code, and then the
       old folder name becomes that code's name in the name map.
    2. Session folders ``<date>_<capture stem>`` become ``<date>_<n>``; the ``original_name``
       in session.json moves to the name map's ``original_files`` (``names``: a
       :class:`sacrum.apps.names.NameMap`; without one the migration refuses to drop it).
    3. Every ``analysis*.json``: ``input.path`` becomes "capture.sacrum".
    4. Every file 0600, every folder 0700, the root included; the marker written last, so
       an interrupted migration is simply run again.
    """
    root = Path(root)
    rename = dict(rename or {})
    lib = Library(root)
    marker = root / LIBRARY_FILE
    if not root.is_dir():
        raise SessionError(f"{root} is not a folder: no library to migrate")
    out = Migration()
    if marker.is_file():
        lib.check_format()  # raises for a foreign or newer marker
        return out  # already format 2
    people = sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*/session.json")))
    bad = [p.name for p in people if p.name not in rename and not _PERSON_ID.fullmatch(p.name)]
    if bad:
        raise SessionError(f"{root}: person folders {', '.join(map(repr, bad))} are not "
                           "pseudonymous codes; give --rename OLD=NEW for each (e.g. --rename "
                           f"{bad[0]}=P001; the old name goes to the name map)")
    for old, new in rename.items():
        check_person_id(new)
        if (root / new).exists():
            raise SessionError(f"{root / new} exists: choose another code for {old!r}")
    has_names = any(_original_name(m) for p in people for m in p.glob("*/session.json"))
    if (has_names or rename) and names is None:
        raise SessionError("the library holds file or person names that move to the name map: "
                           "give the name map (--names FILE)")
    for person in people:
        was = person.name
        pid = rename.get(was, was)
        if pid != was:
            person.rename(root / pid)
            person = root / pid
            out.persons_renamed[was] = pid
        used = {f.name for f in person.iterdir() if _SESSION_DIR.fullmatch(f.name)}
        for meta_file in sorted(person.glob("*/session.json")):
            folder = meta_file.parent
            meta = read_json(meta_file)
            if not isinstance(meta, dict):
                raise SessionError(f"{meta_file} is not a session's metadata; move the folder "
                                   "out of the library and add its capture again")
            day = meta.get("date")
            day = day if isinstance(day, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", day) \
                else "0000-00-00"  # (every session of format 1 has its ISO date)
            if not _SESSION_DIR.fullmatch(folder.name):
                k = 1
                while f"{day}_{k}" in used:
                    k += 1
                used.add(f"{day}_{k}")
                folder.rename(person / f"{day}_{k}")
                out.renamed[f"{was}/{folder.name}"] = f"{pid}/{day}_{k}"
                folder = person / f"{day}_{k}"
            original = meta.pop("original_name", None)
            if original:
                out.original_files[f"{pid}/{folder.name}"] = str(original)
            meta["person_id"] = pid
            for doc_file in folder.glob("analysis*.json"):
                doc = read_json(doc_file)
                if isinstance(doc, dict) and isinstance(doc.get("input"), dict) \
                        and doc["input"].get("path") != "capture.sacrum":
                    doc["input"]["path"] = "capture.sacrum"
                    _write_analysis(doc, doc_file)
                    out.analyses_rewritten += 1
            _write_meta(folder, meta)
    if names is not None:
        names.add_original_files(out.original_files)
        for old, new in rename.items():
            names.set(new, old)
    for p in [root, *root.rglob("*")]:
        if p.is_symlink():
            continue
        mode = os.stat(p).st_mode & 0o777
        if mode != (DIR_MODE if p.is_dir() else FILE_MODE):
            make_private(p)
            out.made_private += 1
    write_private_text(marker, json.dumps({"format": "sacrum-library",
                                           "format_version": LIBRARY_FORMAT_VERSION}) + "\n")
    return out


def _original_name(meta_file: Path) -> bool:
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and bool(meta.get("original_name"))


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

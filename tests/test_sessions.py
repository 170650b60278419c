"""The sessions library (sacrum.apps.sessions): add, list, report a person's progress, re-analyse
with a diff. Fixtures: phantom walks (tests/test_report.py's phantom_capture: known drops)."""

from __future__ import annotations

import json

import pytest

from phantoms import phantom_capture
from sacrum.apps.cli import main
from sacrum.apps.sessions import Library, SessionError, diff_analyses, session_from_json


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    d = tmp_path_factory.mktemp("lib")
    first = phantom_capture(d / "first.sacrum", drop_deg=(4.0, 9.0), n_steps=50)
    later = phantom_capture(d / "later.sacrum", drop_deg=(4.0, 6.0), n_steps=50, seed=3)
    lib = Library(d / "library")
    lib.add(first, "P007", "2025-01-10", mount="recommended")
    lib.add(later, "P007", "2025-03-14", mount="recommended")
    return lib, first


def test_a_folder_per_person_with_capture_analysis_and_metadata(library):
    lib, first = library
    assert lib.persons() == ["P007"]
    s = lib.sessions("P007")
    assert [x.date for x in s] == ["2025-01-10", "2025-03-14"]
    folder = s[0].folder
    assert folder.parent == lib.root / "P007"
    assert (folder / "capture.sacrum").read_bytes() == first.read_bytes()
    meta = json.loads((folder / "session.json").read_text())
    # the capture's file name may name the person: not kept (docs/security.md)
    assert meta["options"]["mount"] == "recommended" and "original_name" not in meta
    assert folder.name == "2025-01-10_1"
    assert s[0].device["firmware"] == "generator"
    drop = s[0].analysis["summary"]["contralateral_drop_deg"]
    assert drop["R"] == pytest.approx(9.0, abs=0.7)


def test_the_same_capture_twice_and_a_bad_id_are_refused(library):
    lib, first = library
    with pytest.raises(SessionError, match="already in the library"):
        lib.add(first, "P007", "2025-01-11")
    with pytest.raises(SessionError, match="pseudonymous"):
        lib.add(first, "Jane Doe", "2025-01-11")
    assert len(lib.sessions("P007")) == 2  # nothing half-added


def test_reanalysis_reproduces_the_stored_numbers(library):
    lib, _ = library
    for s in lib.sessions("P007"):
        assert lib.reanalyze(s) == []
    meta = json.loads((lib.sessions("P007")[0].folder / "session.json").read_text())
    assert meta["history"][-1]["changes"] == 0


def test_reanalysis_says_what_changed(library, capsys):
    lib, _ = library
    s = lib.sessions("P007")[0]
    stored = s.folder / "analysis.json"
    doc = json.loads(stored.read_text())
    doc["summary"]["contralateral_drop_deg"]["R"] += 0.5   # as an older version might have had
    doc["steps"] = doc["steps"][:-1]
    stored.write_text(json.dumps(doc))
    changes = lib.reanalyze(lib.sessions("P007")[0])
    paths = [c.path for c in changes]
    assert paths[0] == "summary.contralateral_drop_deg.R"  # the summary first
    assert "steps.length" in paths
    assert changes[0].old - changes[0].new == pytest.approx(0.5)
    assert main(["sessions", "reanalyze", "--library", str(lib.root), "--update"]) == 0
    out = capsys.readouterr().out
    assert "fields changed" in out and "summary.contralateral_drop_deg.R" in out
    assert "reproduced" in out  # the other session
    assert lib.reanalyze(lib.sessions("P007")[0]) == []  # replaced: reproduced now
    assert list(s.folder.glob("analysis-*.json"))  # the old one kept


def test_diff_tolerance_is_per_field_unit(library):
    import copy

    lib, _ = library
    a = lib.sessions("P007")[0].analysis  # a real analysis document (sacrum.analyze)
    b = copy.deepcopy(a)
    b["sacrum_version"] = "another"
    drop = b["summary"]["contralateral_drop_deg"]
    drop["R"] += 5e-7  # within 1e-6 of a degree: the same number
    assert diff_analyses(a, b) == []
    drop["R"] += 0.01
    b["summary"]["mean_tilt_deg"] = None  # a value that became null
    assert {c.path for c in diff_analyses(a, b)} == {"summary.contralateral_drop_deg.R",
                                                     "summary.mean_tilt_deg"}


def test_a_stored_format_1_analysis_is_still_read(library, tmp_path, capsys):
    lib, _ = library
    doc = json.loads((lib.sessions("P007")[0].folder / "analysis.json").read_text())
    doc["format_version"] = 1  # as sacrum wrote it before steps were named steps
    doc["strides"] = doc.pop("steps")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    s = session_from_json(old)
    assert len(s.analysis["steps"]) == len(doc["strides"]) > 0
    assert main(["report", str(old), "--out", str(tmp_path / "r.html")]) == 0


def test_list_and_progress_report_from_the_library(library, tmp_path, capsys):
    lib, _ = library
    assert main(["sessions", "--library", str(lib.root)]) == 0
    out = capsys.readouterr().out
    listed = [ln for ln in out.splitlines() if ln.startswith("P007")]
    assert len(listed) == 2 and "2025-03-14" in listed[1]
    html = tmp_path / "progress.html"
    assert main(["report", "--library", str(lib.root), "--person", "P007",
                 "--out", str(html)]) == 0
    text = html.read_text()
    assert "Progress" in text and "From 2025-01-10 to 2025-03-14 (2 sessions)" in text


@pytest.mark.parametrize("content", [b"not json", b"\xff\xfe", b"[1, 2]", b'{"a": 1}',
                                     b'{"format": "sacrum-analysis", "format_version": 1}',
                                     b'{"format": "sacrum-analysis", "format_version": 99}'])
def test_a_damaged_or_foreign_analysis_is_one_line(content, tmp_path, capsys):
    bad = tmp_path / "a.json"
    bad.write_bytes(content)
    assert main(["report", str(bad), "--out", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("sacrum report: error: ")
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(SessionError):
        session_from_json(bad)


def test_a_damaged_library_session_is_one_line(library, tmp_path, capsys):
    import shutil

    lib, _ = library
    copy = tmp_path / "lib"
    shutil.copytree(lib.root, copy)
    first = sorted((copy / "P007").iterdir())[0]
    text = (first / "analysis.json").read_text()
    (first / "analysis.json").write_text(text[:len(text) // 2])  # cut mid-write
    assert main(["sessions", "--library", str(copy)]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1

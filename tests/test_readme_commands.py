"""The README's command line and the behaviour agree (issue 13 item 5), and its error
policy holds (README, "Errors"; ``sacrum.apps.cli``). Fixtures: the bundled example captures
(Mobilise-D HA/001 streamed by the firmware in the loop, examples/README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cli_contract import run
from sacrum.apps.cli import main
from sacrum.io.decode import decode_capture

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
STRAIGHT = EXAMPLES_DIR / "mobgap_ha001_straight_walk.sacrum"
DAILY = EXAMPLES_DIR / "mobgap_ha001_daily_activities.sacrum"


def test_analyze_prints_its_summary_without_json(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, printed, _ = run(capsys, "analyze", DAILY)
    assert code == 0 and len(printed.splitlines()) >= 3
    assert list(tmp_path.iterdir()) == []  # nothing written
    code, with_json, _ = run(capsys, "analyze", DAILY, "--json", tmp_path / "a.json")
    assert code == 0 and (tmp_path / "a.json").stat().st_size > 0
    assert with_json.splitlines()[:-1] == printed.splitlines()  # the same summary, + "wrote"


def test_sessions_list_is_the_default_listing(capsys, tmp_path):
    lib = tmp_path / "lib"
    run(capsys, "sessions", "--library", lib, "add", STRAIGHT, "--person", "P3")
    run(capsys, "sessions", "--library", lib, "add", DAILY, "--person", "P4")
    listed = run(capsys, "sessions", "list", "--library", lib)[1]
    assert listed == run(capsys, "sessions", "--library", lib)[1]
    assert len(listed.strip().splitlines()) == 3  # a header and one row per session
    one = run(capsys, "sessions", "list", "--library", lib, "--person", "P4")[1]
    assert len(one.strip().splitlines()) == 2 and "P4" in one.splitlines()[1]
    nobody = run(capsys, "sessions", "list", "--library", lib, "--person", "P9")[1]
    assert len(nobody.strip().splitlines()) == 1


def test_record_fast_like_replay(capsys, tmp_path):
    out = tmp_path / "rec.sacrum"
    assert run(capsys, "record", "--replay", STRAIGHT, "--fast", "--out", out, "-q")[0] == 0
    assert len(decode_capture(out)) == len(decode_capture(STRAIGHT))
    # the simulator never ends: at full speed it needs --duration
    assert run(capsys, "record", "--simulate", "--fast", "--out", tmp_path / "s.sacrum",
               "-q")[0] == 1
    assert not (tmp_path / "s.sacrum").exists()
    assert run(capsys, "record", "--simulate", "--fast", "--duration", "2", "--out",
               tmp_path / "s.sacrum", "-q")[0] == 0
    assert decode_capture(tmp_path / "s.sacrum").duration_s == pytest.approx(2.0, abs=0.3)
    with pytest.raises(SystemExit):  # --speed and --fast together: a usage error
        main(["record", "--replay", str(STRAIGHT), "--fast", "--speed", "2", "--out",
              str(tmp_path / "x.sacrum")])


def test_batch_scheduler_without_distributed(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    out = tmp_path / "r.csv"
    assert run(capsys, "batch", EXAMPLES_DIR, "--out", out,
               "--scheduler", "tcp://127.0.0.1:8786")[0] == 1
    assert not out.exists() and not (tmp_path / "r.csv.parts").exists()  # before any work


def _prefix_under_a_second(src, path):
    """The longest byte prefix of ``src`` whose samples span less than a second."""
    buf = src.read_bytes()
    best = None
    for size in range(200, len(buf), 200):
        path.write_bytes(buf[:size])
        table = decode_capture(path)
        if len(table) > 1 and table.duration_s >= 1.0:
            break
        if len(table) > 1:
            best = size
    assert best is not None
    path.write_bytes(buf[:best])
    return path


def test_a_capture_shorter_than_a_second_exits_non_zero(capsys, tmp_path):
    short = _prefix_under_a_second(STRAIGHT, tmp_path / "short.sacrum")
    assert 0 < decode_capture(short).duration_s < 1.0
    for argv in (["analyze", short, "--mount", "recommended"],
                 ["report", short, "--out", tmp_path / "r.html"],
                 ["export-tables", short, "--strides", tmp_path / "st.csv"],
                 ["live", "--replay", short, "--headless", "--out-dir", tmp_path / "live"]):
        assert run(capsys, *argv)[0] == 1
    assert not (tmp_path / "r.html").exists()
    assert run(capsys, "info", short)[0] == 0  # info describes any capture, short or not


def test_a_bug_is_one_line_and_exit_3(capsys, monkeypatch):
    import sacrum.apps.cli

    def broken(path):
        return {}["no such key"]

    monkeypatch.setattr(sacrum.apps.cli, "decode_capture", broken)
    code = main(["info", str(STRAIGHT)])
    err = capsys.readouterr().err
    assert code == 3 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("sacrum info: internal error") and "KeyError" in err


def test_a_missing_optional_package_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert run(capsys, "batch", EXAMPLES_DIR, "--out", tmp_path / "r.parquet")[0] == 1


def test_report_of_the_bundled_straight_walk(capsys, tmp_path):
    """It crashed in the drop figure (issue 12 item 4): too few steps for a score."""
    code, _, _ = run(capsys, "report", STRAIGHT, "--out", tmp_path / "r.html",
                     "--pdf", tmp_path / "r.pdf")
    assert code == 0
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")


def test_a_logged_traceback_is_one_line_unless_verbose():
    import logging

    from sacrum.apps.cli import _LogFormat

    try:
        {}["no such key"]
    except KeyError:
        record = logging.LogRecord("sacrum.apps.live.session", logging.ERROR, __file__, 1,
                                   "live analysis failed at %d s", (3,), sys.exc_info())
    quiet, verbose = _LogFormat(False).format(record), _LogFormat(True).format(record)
    assert len(quiet.splitlines()) == 1 and "KeyError" in quiet and "at 3 s" in quiet
    assert "Traceback" in verbose and len(verbose.splitlines()) > 2

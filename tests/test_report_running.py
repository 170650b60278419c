"""The report's running page (issue 17 item 3): drop per stance side, the per-step chart, the
running values in the units people read (ms, cm), the score's items with their bands and
sources; every number the analysis document's (read back from the figures' artists and the
HTML's tables, not from prose); the PDF renders; a running capture without task marks is
reported, or refused in one line that says what to give.

Fixture: the running phantom (walk, run 60 steps, walk; ``sacrum.testing.running_phantom``,
200 Hz) written as a capture by the generator's BLE model, analysed once with ``--task
run`` (through ``session_from_capture``, as ``sacrum report CAPTURE --task run`` does).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cli_contract import run
from report_html import numbers, shown, tables
from sacrum.apps.report import build_report, render_html, write_pdf
from sacrum.apps.sessions import session_from_capture
from sacrum.testing.exercise_phantom import exercise_capture
from sacrum.testing.generator import LinkModel, make_capture
from sacrum.testing.running_phantom import running_phantom

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    p = running_phantom(seed=2)
    path = tmp_path_factory.mktemp("run-report") / "run.sacrum"
    make_capture(path, p["q"], p["acc"], p["gyr"], int(p["rate_hz"]), link=LinkModel(mtu=247),
                 seed=2)
    return path


@pytest.fixture(scope="module")
def session(capture):
    return session_from_capture(capture, "P001", "2026-10-01", task="run")


@pytest.fixture(scope="module")
def report(session):
    return build_report([session])


@pytest.fixture(scope="module")
def html_tables(report):
    return tables(render_html(report))


def _task(session):
    return next(t for t in session.analysis["summary"]["tasks"] if t["kind"] == "run")


def test_the_drop_bars_and_every_step_are_the_analysis(session, report):
    task = _task(session)
    assert task["n_steps_used"] > 20  # the phantom runs 60 steps
    bars = {p.get_gid(): p for p in report.figures["run/drop"].axes[0].patches if p.get_gid()}
    for s in "LR":
        assert bars[f"drop-{s}"].get_height() == pytest.approx(task["contralateral_drop_deg"][s],
                                                               abs=1e-12)
    pts = {c.get_gid(): c.get_offsets() for ax in report.figures["run/steps"].axes
           for c in ax.collections if c.get_gid()}
    steps = [x for x in session.analysis["running_steps"] if x["task"] == "run"]
    for s in "LR":
        used = [x for x in steps if x["stance_side"] == s and x["excluded"] is None]
        assert len(used) == task["n_steps_by_side"][s]
        for gid, key, scale in ((f"run-drop-{s}", "contralateral_drop_deg", 1.0),
                                (f"run-contact-{s}", "contact_time_s", 1000.0),
                                (f"run-flight-{s}", "flight_time_s", 1000.0),
                                (f"run-vo-{s}", "vertical_oscillation_m", 100.0)):
            want = [(x["t_ic"], scale * x[key]) for x in used if x[key] is not None]
            np.testing.assert_allclose(np.asarray(pts[gid]), want, rtol=0, atol=1e-9)
    # the band under the bars is the one the document scored against (the running bands')
    band = task["components"]["drop"]["items"][0]["band"]
    spans = [p.get_bbox() for p in report.figures["run/drop"].axes[0].patches
             if not p.get_gid()]
    assert any(b.y1 == pytest.approx(band["normal_max"], abs=1e-9) for b in spans), spans
    assert any(b.y0 == pytest.approx(band["poor_max"], abs=1e-9) for b in spans), spans


def test_the_running_table_is_in_ms_and_cm_and_equal_to_the_analysis(session, html_tables):
    task = _task(session)
    tabs = html_tables
    rows = {r[0]: r[1:] for r in tabs["tab-run-running"][1:]}
    for label, key, scale, dec in (("contact time (ms)", "contact_time_s", 1000, 0),
                                   ("flight time (ms)", "flight_time_s", 1000, 0),
                                   ("step time (ms)", "step_time_s", 1000, 0),
                                   ("vertical oscillation (cm)", "vertical_oscillation_m", 100, 1),
                                   ("braking, peak deceleration (m/s²)", "braking_mps2", 1, 1)):
        assert [numbers(c)[0] for c in rows[label]] == [
            shown(scale * task[key][k], dec) for k in ("L", "R", "all")], label
    drop = rows["contralateral drop (°), median ± SD"]
    for cell, s in zip(drop, "LR", strict=False):
        assert numbers(cell) == [shown(task["contralateral_drop_deg"][s], 1),
                                 shown(task["contralateral_drop_sd_deg"][s], 1)]
    assert numbers(rows["cadence (steps/min)"][2]) == [shown(task["cadence_spm"], 1)]
    assert numbers(rows["obliquity / tilt / rotation range (°)"][2]) == [
        shown(task["rom_deg"][k], 1) for k in ("obliquity", "tilt", "rotation")]
    assert numbers(rows["symmetry index: step time / contact time (%)"][2]) == [
        shown(task["symmetry_index"][k], 1) for k in ("step_time", "contact_time")]


def test_the_score_items_carry_their_provisional_bands(session, html_tables):
    task = _task(session)
    tabs = html_tables
    rows = tabs["tab-run-bands"][1:]
    items = [(name, it) for name, c in task["components"].items() for it in c["items"]]
    assert len(rows) == len(items) > 0
    for row, (name, it) in zip(rows, items, strict=True):
        assert row[0] == name
        assert numbers(row[2]) == [shown(it["value"], 1)]
        assert numbers(row[3]) == [it["band"]["normal_max"]]
        assert numbers(row[4]) == [it["band"]["poor_max"]]
        assert numbers(row[5]) == [shown(it["score"], 0)]
        assert row[6] == it["source"] and it["source"]
    comps = {r[0]: r for r in tabs["tab-run-components"][1:]}
    assert numbers(comps["score"][1]) == [shown(task["score"], 0)]
    # the score's interval (a bootstrap over the running steps), as the document has it
    iv = task["score_interval"]
    assert iv is not None and iv[0] <= task["score"] <= iv[1]
    assert [abs(x) for x in numbers(comps["score"][2])] == [shown(x, 0) for x in iv]
    for name, c in task["components"].items():
        assert numbers(comps[name][1]) == [shown(c["score"], 0)]


def test_the_pdf_renders(report, tmp_path):
    out = write_pdf(report, tmp_path / "run.pdf")
    assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 50_000
    if shutil.which("pdftoppm"):  # the pages as PNGs in tests/artifacts/ (not in git)
        ARTIFACTS.mkdir(exist_ok=True)
        for old in ARTIFACTS.glob("report_running-*.png"):
            old.unlink()
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(out),
                        str(ARTIFACTS / "report_running")], check=True, timeout=60)
        assert len(list(ARTIFACTS.glob("report_running-*.png"))) >= 2


def test_a_running_capture_without_marks(capture, tmp_path, capsys):
    """No task marks, no --task: the analysis finds the running (and its mounting from the
    running contacts, not from walking, which refused it); the report has its page."""
    html = tmp_path / "r.html"
    code, _, _ = run(capsys, "report", capture, "--person", "P001", "--out", html)
    assert code == 0
    tabs = tables(html.read_text())
    assert "tab-run-running" in tabs and "tab-run-bands" in tabs


def test_a_capture_without_walking_or_running_is_refused_in_one_line(tmp_path, capsys):
    """Lying still (no walking, no running, no task, no mounting): one line on stderr,
    exit 1, no report written."""
    cap = tmp_path / "plank.sacrum"
    exercise_capture(cap, "plank", mount="recommended", seed=1)
    html = tmp_path / "r.html"
    code, _, err = run(capsys, "report", cap, "--person", "P001", "--out", html,
                       ok_codes=())
    assert code == 1 and not html.exists()
    assert "--task" in err and "--mount" in err


def test_a_run_without_running_steps_says_so_in_its_figures(tmp_path):
    """A walk analysed as a run: no running step, no score; each figure says so inside
    it, the tables show no number."""
    p = running_phantom(segments=(("walk", 30),), seed=1)
    path = tmp_path / "walk.sacrum"
    make_capture(path, p["q"], p["acc"], p["gyr"], int(p["rate_hz"]), link=LinkModel(mtu=247),
                 seed=1)
    s = session_from_capture(path, "P001", "2026-10-01", task="run", mount="recommended")
    task = _task(s)
    assert task["n_steps"] == 0 and task["score"] is None
    rep = build_report([s])
    for key in ("run/drop", "run/steps"):
        axes = rep.figures[key].axes
        assert all(any(t.get_gid() == "nothing" for t in ax.texts) for ax in axes), key
    rows = tables(render_html(rep))["tab-run-running"][1:]
    assert all(not numbers(c) for r in rows for c in r[1:])

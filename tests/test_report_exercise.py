"""The report's exercise pages (issue 16 item 6): per exercise task the per-repetition chart,
the sets (medians, left/right, consistency, fatigue, control score), every repetition or
hold, the two sides of a one-sided exercise, and the progress across sessions; every number
is the analysis document's (read back from the figures' artists and the HTML's tables, not
from prose), the PDF renders.

Fixtures: kinematic phantoms of the exercises (``sacrum.testing.exercise_capture``: two sets
of five full repetitions and a partial, or two holds, streamed into a capture by the
generator's BLE model), analysed once per module by ``sacrum.analyze`` (through
``session_from_capture``, as ``sacrum report CAPTURE --task NAME --mount SPEC`` does).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cli_contract import run
from phantoms import phantom_capture
from report_html import numbers, shown, tables
from sacrum.apps.report import build_report, render_html, write_pdf
from sacrum.apps.report.exercises import ANGLES, exercise_blocks
from sacrum.apps.report.figures import SIDE_COLOUR
from sacrum.apps.report.norms import exercise_band
from sacrum.apps.sessions import Library, session_from_capture
from sacrum.testing.exercise_phantom import exercise_capture

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
MOUNT = "recommended"


def _session(folder: Path, task: str, seed: int, day: str):
    path = folder / f"{task}-{seed}.sacrum"
    ph = exercise_capture(path, task, mount=MOUNT, seed=seed)
    return ph, session_from_capture(path, "P001", day, task=task, mount=MOUNT)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("exercise-report")


@pytest.fixture(scope="module")
def bridge(folder):
    return _session(folder, "single-leg-bridge-left", 3, "2026-10-01")


@pytest.fixture(scope="module")
def plank(folder):
    """A side plank: its hip drop is a large negative obliquity (lying on the left side)."""
    return _session(folder, "side-plank-left", 3, "2026-10-01")


@pytest.fixture(scope="module")
def bird_dog(folder):
    return _session(folder, "bird-dog", 4, "2026-10-01")


def _task(session):
    (task,) = session.analysis["summary"]["tasks"]
    return task


def _score(x) -> list[float]:
    """A set's or task's score as the report prints it, as numbers: the score (if not
    withheld) and its interval (if estimated)."""
    iv = x.get("score_interval")
    return ([shown(x["score"], 0)] if x.get("score") is not None else []) + (
        [shown(v, 0) for v in iv] if iv else [])


def _artists(fig):
    """The figure's bars and lines by gid; asserts that each bar lies inside its axes (a
    value drawn off the axis would contradict the table beside it)."""
    out = {}
    for ax in fig.axes:
        lo, hi = sorted(ax.get_ylim()) if ax.name != "polar" else (0, 0)
        for a in (*ax.patches, *ax.lines):
            if not a.get_gid():
                continue
            out[a.get_gid()] = a
            if hasattr(a, "get_height") and a.get_height() and a.get_gid()[:4] in ("exc-",
                                                                                 "metr"):
                y0, y1 = sorted((a.get_y(), a.get_y() + a.get_height()))
                assert lo <= y0 and y1 <= hi, (a.get_gid(), y0, y1, lo, hi)
    return out


def test_the_repetition_chart_is_every_repetition_of_the_analysis(bridge):
    ph, s = bridge
    task = _task(s)
    ex = task["exercise"]
    reps, metric = ex["repetitions"], ex["sets"][0]["metric"]
    got = _artists(build_report([s]).figures[f"{task['task']}/repetitions"])
    # the phantom's counts: the report shows them, not "0 repetitions"
    assert ex["n_repetitions"] == sum(not r.partial for r in ph.reps) > 0
    assert ex["n_partial"] == sum(r.partial for r in ph.reps) > 0
    for i, r in enumerate(reps):
        bar = got[f"metric-{i}"]
        assert bar.get_height() == pytest.approx(r[metric], abs=1e-12)
        assert bool(bar.get_hatch()) == r["partial"]  # partials marked
        for a in ANGLES:
            assert got[f"exc-{i}-{a}"].get_height() == pytest.approx(r[f"{a}_excursion_deg"],
                                                                     abs=1e-12)
    for st in ex["sets"]:
        line = got[f"set-median-{st['set_index']}"]
        assert list(line.get_ydata()) == pytest.approx([st["medians"][metric]] * 2, abs=1e-12)
    assert len(ex["sets"]) == 2


def test_the_html_tables_are_the_analysis_sets_and_repetitions(bridge):
    _, s = bridge
    task = _task(s)
    ex, name = task["exercise"], task["task"]
    tabs = tables(render_html(build_report([s])))
    metric = ex["sets"][0]["metric"]
    sets = tabs[f"tab-{name}-sets"][1:]
    assert len(sets) == len(ex["sets"])
    for row, st in zip(sets, ex["sets"], strict=True):
        med = st["medians"]
        assert numbers(row[1]) == [st["n_repetitions"], st["n_partial"]]
        assert numbers(row[2]) == [shown(med[metric], 1)]
        assert numbers(row[3]) == [shown(med[f"{a}_excursion_deg"], 1) for a in ANGLES]
        assert numbers(row[5]) == [shown(st["consistency_sd_deg"], 2)]
        assert numbers(row[6]) == [shown(st["fatigue_slope"], 2)]
        assert numbers(row[7]) == [shown(st["items"][k], 0)
                                   for k in ("control", "consistency", "fatigue")]
        assert numbers(row[8]) == _score(st)
    reps = tabs[f"tab-{name}-repetitions"][1:]
    assert len(reps) == len(ex["repetitions"])
    for row, r in zip(reps, ex["repetitions"], strict=True):
        assert numbers(row[0]) == [r["index"] + 1] and row[2] == r["side"]
        assert [numbers(c)[0] for c in row[6:9]] == [shown(r[f"{a}_excursion_deg"], 1)
                                                    for a in ANGLES]
        assert bool(row[-1]) == r["partial"]
    # the header's exercise line: full, partial, sets
    (line,) = [r for t in tabs.values() for r in t if r[0] == f"Exercise ({name})"]
    assert numbers(line[1])[:3] == [ex["n_repetitions"], ex["n_partial"], ex["n_sets"]]


def test_the_band_drawn_is_the_one_the_sets_were_scored_on(bridge):
    _, s = bridge
    ex = _task(s)["exercise"]
    band = exercise_band(ex)
    assert band is not None and band.metric == ex["sets"][0]["metric"]
    # the set's control points follow from its median and that band (docs/exercises.md)
    for st in ex["sets"]:
        v = st["medians"][band.metric]
        want = 100.0 if v <= band.normal_max else max(
            0.0, 100.0 * (1 - (v - band.normal_max) / (band.poor_max - band.normal_max)))
        assert st["items"]["control"] == pytest.approx(want, abs=1e-9)
    assert band.source.startswith("provisional")
    # the report takes the band from the document (a clinic's bands would be drawn as
    # scored), and only a document without one from the packaged file
    moved = json.loads(json.dumps(ex))
    moved["band"]["normal_max"] += 1.0
    assert exercise_band(moved).normal_max == band.normal_max + 1.0
    del moved["band"]
    assert exercise_band(moved) == band


def test_holds_show_the_time_held_and_when_control_was_lost(plank):
    ph, s = plank
    task = _task(s)
    holds = task["exercise"]["holds"]
    assert len(holds) == len(ph.holds) == 2
    got = _artists(build_report([s]).figures["side-plank-left/holds"])
    for i, h in enumerate(holds):
        assert got[f"hold-{i}"].get_width() == pytest.approx(h["hold_s"], abs=1e-12)
        lost = got[f"lost-{i}"]
        assert lost.get_x() == pytest.approx(h["control_lost_after_s"], abs=1e-12)
        assert lost.get_x() + lost.get_width() == pytest.approx(h["hold_s"], abs=1e-12)
    rows = tables(render_html(build_report([s])))["tab-side-plank-left-holds"][1:]
    for row, h in zip(rows, holds, strict=True):
        assert numbers(row[2])[0] == shown(h["hold_s"], 1)
        assert numbers(row[3]) == [shown(h["control_lost_after_s"], 1)]


def test_alternating_sides_are_compared(bird_dog):
    _, s = bird_dog
    task = _task(s)
    ex = task["exercise"]
    rows = tables(render_html(build_report([s])))["tab-bird-dog-sets"][1:]
    for row, st in zip(rows, ex["sets"], strict=True):
        assert numbers(row[4]) == [shown(st["by_side"]["L"], 1), shown(st["by_side"]["R"], 1),
                                   shown(st["lr_difference_deg"], 1)]
    got = _artists(build_report([s]).figures["bird-dog/repetitions"])
    sides = set()
    for i, r in enumerate(ex["repetitions"]):
        if r["side"] in SIDE_COLOUR and not r["partial"]:
            sides.add(r["side"])
            assert got[f"metric-{i}"].get_facecolor()[:3] == pytest.approx(
                tuple(int(SIDE_COLOUR[r["side"]][k:k + 2], 16) / 255 for k in (1, 3, 5)))
    assert sides == {"L", "R"}


def test_a_one_sided_exercise_shows_both_sides_on_the_second_page(bridge, folder):
    _, left = bridge
    _, right = _session(folder, "single-leg-bridge-right", 6, "2026-10-01")
    tasks = [_task(left), _task(right)]
    first = [b for b in exercise_blocks(tasks[0], tasks) if getattr(b, "key", "").endswith(
        "/sides")]
    (table,) = [b for b in exercise_blocks(tasks[1], tasks)
                if getattr(b, "key", "") == "single-leg-bridge/sides"]
    assert not first
    by_side = {r[0]: r for r in table.rows}
    for side, t in zip(("left", "right"), tasks, strict=True):
        assert by_side[side][1] == t["task"]
        assert numbers(by_side[side][2]) == _score(t)
        metric = t["exercise"]["sets"][0]["metric"]
        assert numbers(by_side[side][4]) == [shown(st["medians"][metric], 1)
                                             for st in t["exercise"]["sets"]]


def test_nothing_to_draw_is_said_in_the_figure(tmp_path):
    """A walk analysed as a bridge and as a plank: no repetition, no hold; the figures
    say so inside them, and the score says why there is none."""
    cap = phantom_capture(tmp_path / "walk.sacrum", n_steps=20)
    for task, key in (("bridge", "bridge/repetitions"), ("plank", "plank/holds")):
        s = session_from_capture(cap, "P001", "2026-10-01", task=task, mount=MOUNT)
        entry = _task(s)
        assert entry["score"] is None
        fig = build_report([s]).figures[key]
        assert all(any(t.get_gid() == "nothing" for t in ax.texts) for ax in fig.axes)


def test_progress_across_sessions_through_the_command_line(bridge, folder, tmp_path, capsys):
    """Two sessions of one exercise in the library; `sacrum report --person` shows the
    control score and the sets' medians by date: the stored analyses' numbers."""
    lib = tmp_path / "lib"
    first = bridge[1].capture
    second = folder / "later.sacrum"
    exercise_capture(second, "single-leg-bridge-left", mount=MOUNT, seed=8)
    for cap, day in ((first, "2026-10-01"), (second, "2026-11-02")):
        run(capsys, "sessions", "--library", lib, "add", cap, "--person", "P001", "--date", day,
            "--task", "single-leg-bridge-left", "--mount", MOUNT)
    html = tmp_path / "p.html"
    run(capsys, "report", "--library", lib, "--person", "P001", "--out", html)
    docs = [json.loads((s.folder / "analysis.json").read_text())
            for s in Library(lib).sessions("P001")]
    tasks = [d["summary"]["tasks"][0] for d in docs]
    rows = tables(html.read_text())["tab-progress-single-leg-bridge-left"][1:]
    assert [r[0] for r in rows] == ["2026-10-01", "2026-11-02"]
    metric = tasks[0]["exercise"]["sets"][0]["metric"]
    for row, t in zip(rows, tasks, strict=True):
        assert numbers(row[1]) == _score(t)
        assert numbers(row[3]) == [shown(st["medians"][metric], 1) for st in t["exercise"]["sets"]]
        for k, a in enumerate(ANGLES):
            assert numbers(row[4 + k]) == [shown(st["medians"][f"{a}_excursion_deg"], 1)
                                           for st in t["exercise"]["sets"]]
    rep = build_report(Library(lib).sessions("P001"))
    line = _artists(rep.figures["progress/single-leg-bridge-left"])[
        "progress-single-leg-bridge-left-score"]
    assert list(line.get_ydata()) == pytest.approx(
        [t["score"] if t["score"] is not None else float("nan") for t in tasks], nan_ok=True)


def test_the_pdf_renders(bridge, plank, tmp_path):
    """The PDF of an exercise report; with pdftoppm its pages as PNGs in tests/artifacts/
    (not in git), to be looked at."""
    pdfs = {name: write_pdf(build_report([s]), tmp_path / f"{name}.pdf")
            for name, s in (("bridge", bridge[1]), ("plank", plank[1]))}
    for out in pdfs.values():
        assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 50_000
    if shutil.which("pdftotext"):  # the sets' medians are on the page, as text
        text = subprocess.run(["pdftotext", "-layout", str(pdfs["bridge"]), "-"],
                              capture_output=True, text=True, check=True).stdout.split()
        for st in _task(bridge[1])["exercise"]["sets"]:
            assert f"{st['medians'][st['metric']]:.1f}" in text
            assert f"{st['consistency_sd_deg']:.2f}" in text
    if shutil.which("pdftoppm"):
        ARTIFACTS.mkdir(exist_ok=True)
        for old in ARTIFACTS.glob("report_exercise-*.png"):
            old.unlink()
        for name, pdf in pdfs.items():
            subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf),
                            str(ARTIFACTS / f"report_exercise-{name}")], check=True, timeout=60)
        assert len(list(ARTIFACTS.glob("report_exercise-*.png"))) >= 4

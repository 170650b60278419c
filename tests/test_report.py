"""The clinician report (sacrum.apps.report): figures hold the analysis' numbers, the summary
quotes them, the HTML is self-contained, the PDF carries the same content.

Fixtures: the Mobilise-D example capture (examples/, real walking, mostly turns, no
standing) and a phantom walk with a known asymmetry (sacrum.testing.walking_phantom.walking_phantom:
4° drop in left stance, 9° in right stance, 80 steps) streamed into a capture by
sacrum.testing.generator.make_capture. Rendering with headless Chromium and pdftoppm runs when
they are installed (the PNGs go to the test's tmp folder to be looked at).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from phantoms import phantom_capture
from sacrum.apps.cli import main
from sacrum.apps.report import build_report, render_html, write_html, write_pdf
from sacrum.apps.sessions import Session, session_from_capture
from sacrum.io.capture import CaptureReader

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DAILY = EXAMPLES / "mobgap_ha001_daily_activities.sacrum"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> Session:
    path = phantom_capture(tmp_path_factory.mktemp("phantom") / "walk.sacrum")
    return session_from_capture(path, "P001", "2025-03-14", mount="recommended")


@pytest.fixture(scope="module")
def daily() -> Session:
    return session_from_capture(DAILY, "HA001")


def test_the_drop_bars_are_the_analysis_drop_per_side(phantom):
    task = phantom.analysis["summary"]["tasks"][0]
    fig = build_report([phantom]).figures["walk/drop"]
    bars = {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}
    for s in "LR":
        assert bars[f"drop-{s}"].get_height() == pytest.approx(task["contralateral_drop_deg"][s])
    # the known phantom: 4° left stance, 9° right stance
    assert bars["drop-L"].get_height() == pytest.approx(4.0, abs=0.7)
    assert bars["drop-R"].get_height() == pytest.approx(9.0, abs=0.7)


def test_the_session_table_counts_the_steps_outside_every_task(phantom):
    """The straight walk's mark ends before its last two steps: the table names them (the
    live view counts every step of the capture; the walk's row only the walk's)."""
    from sacrum.apps.report.content import header_rows

    s = session_from_capture(EXAMPLES / "mobgap_ha001_straight_walk.sacrum", "HA001")
    rows = dict(header_rows(s))
    outside = sum(d["task"] is None for d in s.analysis["steps"])
    walk = s.analysis["summary"]["tasks"][0]
    assert outside >= 1 and walk["n_steps"] + outside == len(s.analysis["steps"])
    assert rows["Steps outside every task"] == f"{outside} (in no task's figures or score)"
    assert rows["Steps (walk)"].startswith(f"{walk['n_steps_used']} used of {walk['n_steps']} ")
    assert all(d["task"] for d in phantom.analysis["steps"])  # every step in a walk: no row
    assert "Steps outside every task" not in dict(header_rows(phantom))


def test_drop_bars_with_too_few_steps_say_how_many_not_none(phantom):
    """Used steps but no median (fewer than the metrics stage's minimum on each side): the
    figure names the counts its own axis labels show (it said "no usable steps" under
    "left stance (3 steps)")."""
    from sacrum.apps.report import figures

    task = {**phantom.analysis["summary"]["tasks"][0], "n_steps_by_side": {"L": 3, "R": 4},
            "contralateral_drop_deg": {"L": None, "R": None}, "contralateral_drop_sd_deg": {}}
    ax = figures.drop_bars(task).axes[0]
    (said,) = [t.get_text() for t in ax.texts if t.get_gid() == "nothing"]
    assert said == "too few steps for a drop (3 left, 4 right)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["left stance\n(3 steps)",
                                                             "right stance\n(4 steps)"]


def test_the_curves_are_the_analysis_curves_in_the_per_side_form(phantom):
    task = phantom.analysis["summary"]["tasks"][0]
    fig = build_report([phantom]).figures["walk/curves"]
    lines = {ln.get_gid(): ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid()}
    obl_l = np.asarray(task["curves"]["L"]["obliquity_deg"]["mean"], float)
    obl_r = np.asarray(task["curves"]["R"]["obliquity_deg"]["mean"], float)
    np.testing.assert_allclose(lines["curve-L-obliquity"].get_ydata(), obl_l)
    np.testing.assert_allclose(lines["curve-R-obliquity"].get_ydata(), -obl_r)  # right up +
    rot_l = np.asarray(task["curves"]["L"]["rotation_deg"]["mean"], float)
    np.testing.assert_allclose(lines["curve-L-rotation"].get_ydata(), -rot_l)  # left fwd +
    # stance side up at loading: the 9° right-stance drop shows as the right curve's peak
    assert np.nanmax(lines["curve-R-obliquity"].get_ydata()[:35]) == pytest.approx(9.0, abs=1.5)


def test_each_reference_band_s_label_says_the_band_drawn(phantom):
    """The envelope's legend names the ± it draws (a label "10° ± 3°" beside a ±11° band
    contradicted it)."""
    fig = build_report([phantom]).figures["walk/curves"]
    for ax, name in zip(fig.axes, ("obliquity", "tilt", "rotation"), strict=True):
        (band,) = [p for p in ax.patches if p.get_gid() == f"band-{name}"]
        y = band.get_path().vertices[:, 1]
        lo, hi = band.get_transform().transform([[0, y.min()], [0, y.max()]])[:, 1]
        lo, hi = ax.transData.inverted().transform([[0, lo], [0, hi]])[:, 1]
        label = band.get_label()
        said = float(re.search(r"(?:±|≤) (\d+(?:\.\d+)?)°", label).group(1))
        assert (hi - lo) / 2 == pytest.approx(said, abs=0.5), label
    assert "± 11°" in fig.axes[2].patches[-1].get_label()      # rotation: 10/2 + 2 × 3


def test_the_scatter_holds_every_used_step(phantom):
    strides = phantom.analysis["steps"]
    fig = build_report([phantom]).figures["walk/scatter"]
    pts = {c.get_gid(): c for c in fig.axes[0].collections if c.get_gid()}
    for s in "LR":
        used = [(x["t_ic"], x["contralateral_drop_deg"]) for x in strides
                if x["stance_side"] == s and x["excluded"] is None and x["task"] == "walk"]
        np.testing.assert_allclose(pts[f"scatter-{s}-used"].get_offsets(), used)


def test_the_drop_trend_carries_its_interval_and_says_when_there_is_none(phantom):
    """A fatigue-like drift of 3°/min is a clear trend whose interval holds 3; steady drops
    with step-to-step noise over half a minute give an interval across 0 ("no clear
    trend"), not a bare slope read as fatigue."""
    from sacrum.apps.report import figures

    task = phantom.analysis["summary"]["tasks"][0]
    rng = np.random.default_rng(7)
    t = np.arange(0.0, 60.0, 1.1)
    for true_dpm, clear in ((3.0, True), (0.0, False)):
        steps = [{"task": task["task"], "stance_side": "LR"[i % 2], "t_ic": float(ti),
                  "contralateral_drop_deg": 4.0 + true_dpm * ti / 60 + rng.normal(0, 0.5),
                  "excluded": None} for i, ti in enumerate(t)]
        ax = figures.drop_scatter(steps, task).axes[0]
        for s in "LR":
            mine = [x for x in steps if x["stance_side"] == s]
            slope, lo, hi = figures.trend_deg_per_min(
                np.array([x["t_ic"] for x in mine]),
                np.array([x["contralateral_drop_deg"] for x in mine]))
            assert lo < true_dpm < hi
            (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == f"trend-{s}"]
            assert f"{slope:+.1f}°/min (90 %: {lo:+.1f} to {hi:+.1f}" in line.get_label()
            assert ("no clear trend" in line.get_label()) is not clear
    # under 20 s: no trend at all
    assert np.isnan(figures.trend_deg_per_min(t[:15], t[:15] * 0.1)[0])


def test_the_scatter_says_which_steps_it_cannot_draw(phantom):
    # steps with no drop (across a gap of lost samples) are counted in the report's step
    # counts; the scatter cannot draw them and says how many, so its legend's counts add up
    from sacrum.apps.report import figures

    task = phantom.analysis["summary"]["tasks"][0]
    steps = [dict(x) for x in phantom.analysis["steps"] if x["task"] == "walk"]
    for x in steps[3:5]:
        x["excluded"], x["contralateral_drop_deg"] = "gap", None
    steps[7]["contralateral_drop_deg"] = float("nan")
    steps[7]["excluded"] = "irregular"
    texts = [t.get_text() for t in figures.drop_scatter(steps, task).axes[0].texts]
    assert "not drawn: 3 steps without a drop (2 gap, 1 irregular)" in texts
    whole = [t.get_text() for t in figures.drop_scatter(
        [x for x in phantom.analysis["steps"] if x["task"] == "walk"], task).axes[0].texts]
    assert not any(t.startswith("not drawn") for t in whole)


def test_the_summary_quotes_the_numbers_and_their_bands(phantom):
    rep = build_report([phantom])
    text = rep.summary_text()
    drop = phantom.analysis["summary"]["contralateral_drop_deg"]
    # the larger (right-stance) drop first, above the band; left within it
    assert re.search(rf"In right stance the pelvis dropped {drop['R']:.1f}° on the swinging "
                     r"\(left\) side, above the usual range \(up to 7\.0°\); in left stance "
                     rf"{drop['L']:.1f}°, within it\.", text), text
    walk = phantom.analysis["summary"]["tasks"][0]
    lo, hi = walk["score_interval"]
    assert lo <= walk["score"] <= hi
    assert (f"Pelvic control score for walk: {walk['score']:.0f} ({lo:.0f}–{hi:.0f}) of 100"
            in text)
    for word in ("Trendelenburg", "weak", "diagnos", "should"):
        assert word not in text  # no claims beyond the numbers


def test_the_example_gets_a_score_with_its_interval_or_says_why_not(daily):
    """The bundled daily-activities capture: mostly turns, no standing: the summary gives
    the walk score with its interval (or the reason there is none), says the drops are
    relative, and lists the turns."""
    rep = build_report([daily])
    text = rep.summary_text()
    walk = daily.analysis["summary"]["tasks"][0]
    if walk["score"] is not None:
        lo, hi = walk["score_interval"]
        assert f"for walk: {walk['score']:.0f} ({lo:.0f}–{hi:.0f}) of 100" in text
    else:
        assert "No pelvic control score for walk: " in text
    assert "relative drops" in text
    assert "no standing calibration" in text.lower()
    conf = daily.analysis["mounting"]["confidence"]
    assert (f"low confidence ({conf:.2f})" in text) == (conf < 0.5)
    turns = [t for t in daily.analysis["turns"] if t["task"] == "walk"]
    assert turns and f"{len(turns)} turns" in text
    table = next(b for b in rep.blocks if getattr(b, "columns", [None])[:2] == ["#", "start (s)"]
                 and "direction" in b.columns)
    assert len(table.rows) == len(turns)
    assert [r[4] for r in table.rows] == [t["direction"] for t in turns]


def test_every_walk_figure_says_when_its_angles_are_relative(daily, phantom):
    """No standing calibration (the daily capture: zeroed on the walking mean): each figure
    of the walk's angles says so in its caption, as the tables and the summary do; with a
    standing calibration (the phantom) none does."""
    assert daily.analysis["summary"]["tasks"][0]["angle_reference"] == "walking"
    assert phantom.analysis["summary"]["tasks"][0]["angle_reference"] == "standing"
    note = "Angles relative to the mean walking posture (no standing calibration)."
    for s, said in ((daily, True), (phantom, False)):
        figs = [b for b in build_report([s]).blocks if hasattr(b, "figure")
                and b.key.split("/")[-1] in ("drop", "curves", "scatter")]
        assert len(figs) >= 3
        assert all((note in f.caption) is said for f in figs), [f.caption for f in figs]


def test_turns_outside_every_task_are_listed_apart(daily, phantom):
    """Every turn of the analysis is in the report, as in the live view: the daily
    capture's two turns after its last walk (in no task) get their own table, which says
    they are in no score; the walk's table keeps only the walk's; a recording whose turns
    are all in a task has no such table."""
    outside = [t for t in daily.analysis["turns"] if t["task"] is None]
    assert len(outside) >= 1
    rep = build_report([daily])
    tables = [b for b in rep.blocks if getattr(b, "columns", [None])[:2] == ["#", "start (s)"]
              and "direction" in b.columns]
    apart = [t for t in tables if t.key == "turns/outside"]
    assert len(apart) == 1 and "in no task" in apart[0].caption
    assert [r[1] for r in apart[0].rows] == [f"{t['t_start_s']:.1f}" for t in outside]
    walk = [t for t in tables if t.key != "turns/outside"]
    n_walk = sum(t["task"] == "walk" for t in daily.analysis["turns"])
    assert sum(len(t.rows) for t in walk) == n_walk
    assert all(t["task"] is not None for t in phantom.analysis["turns"])
    assert not [b for b in build_report([phantom]).blocks
                if getattr(b, "key", "") == "turns/outside"]


def test_the_header_has_person_date_device_and_data_quality(daily):
    from sacrum.apps.report.content import Disclosure

    # the device's name only when the clinician asks (docs/security.md)
    assert "sacrum-mobgap" not in render_html(build_report([daily]))
    html = render_html(build_report([daily], Disclosure(device_name=True)))
    walk = daily.analysis["summary"]["tasks"][0]
    why = ", ".join(f"{k} {r}" for r, k in walk["excluded_reasons"].items())
    assert walk["n_steps_excluded"] > 0  # the example's turns: the header must say why
    for needed in ("HA001", "sacrum-mobgap", "(firmware: firmware in the loop",
                   "0.00 % of samples lost",
                   f"{walk['n_steps_used']} used of {walk['n_steps']} "
                   f"({walk['n_steps_by_side']['L']} left, {walk['n_steps_by_side']['R']} "
                   f"right stance); excluded: {why}",
                   "zeroed on the mean walking posture"):
        assert needed in html, needed
    # the date is the recording's own, from the capture's header
    assert daily.date == CaptureReader(DAILY).header["created_utc"][:10] == "2020-12-10"


def test_the_html_is_self_contained(daily, tmp_path):
    out = write_html(build_report([daily]), tmp_path / "r.html")
    html = out.read_text()
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert refs and all(r.startswith("data:image/png;base64,") for r in refs)
    assert not re.search(r"https?://|<script|<link|@import|url\(", html)
    assert html.count("<img ") == 3  # drop, curves, scatter of the one walking task


def test_progress_over_sessions(phantom, tmp_path):
    better = phantom_capture(tmp_path / "later.sacrum", drop_deg=(4.0, 6.0), seed=2)
    later = session_from_capture(better, "P001", "2025-05-02", mount="recommended")
    rep = build_report([later, phantom])  # any order: by date
    lines = {ln.get_gid(): ln for ax in rep.figures["progress"].axes for ln in ax.get_lines()
             if ln.get_gid()}
    r = [s.analysis["summary"]["contralateral_drop_deg"]["R"] for s in (phantom, later)]
    np.testing.assert_allclose(lines["progress-drop-R"].get_ydata(), r)
    sc = [s.analysis["summary"]["score"] for s in (phantom, later)]
    np.testing.assert_allclose(lines["progress-score"].get_ydata(), sc)
    assert f"right-stance drop {r[0]:.1f}° → {r[1]:.1f}°" in rep.summary_text()
    assert r[1] < r[0] - 2


def test_the_recordings_of_one_day_are_pooled_as_one_session(phantom, tmp_path):
    """Three captures of one person and day (the trials of a walk test): the report leads
    with their pooled score (pool_sessions, its interval), lists each recording and the
    pooled row, and draws no progress over one day; with a later day, the progress has one
    point per day, that day's pooled."""
    from dataclasses import replace

    from sacrum.analysis import pool_sessions

    b = session_from_capture(phantom_capture(tmp_path / "b.sacrum", drop_deg=(4.0, 6.0),
                                             seed=2), "P001", phantom.date, mount="recommended")
    c = replace(b, analysis=session_from_capture(
        phantom_capture(tmp_path / "c.sacrum", drop_deg=(5.0, 8.0), seed=3), "P001",
        phantom.date, mount="recommended").analysis)
    day = [phantom, b, c]
    pooled = pool_sessions([s.analysis for s in day])
    rep = build_report(day)
    text = rep.summary_text()
    iv = pooled["score_interval"]
    assert (f"The 3 recordings of {phantom.date}, pooled as one session (as the trials of a "
            f"walk test): walk score {pooled['score']:.0f} ({iv[0]:.0f}–{iv[1]:.0f}) from "
            f"{pooled['n_steps_used']} used steps") in text
    assert pooled["n_steps_used"] == sum(s.analysis["summary"]["tasks"][0]["n_steps_used"]
                                         for s in day)
    comp = next(b for b in rep.blocks if getattr(b, "key", "") == "pooled-walk/components")
    assert comp.rows[-1][1] == f"{pooled['score']:.0f}"
    assert "progress" not in rep.figures
    assert any(getattr(b, "text", "").startswith(f"All 3 recordings are of {phantom.date}")
               for b in rep.blocks)
    table = next(b for b in rep.blocks if getattr(b, "key", "") == "progress")
    assert [r[0] for r in table.rows] == [phantom.date] * 3 + [f"{phantom.date}, 3 pooled"]
    # a later day: one point per day, the first day's the pooled one
    later = replace(b, date="2025-05-02")
    rep = build_report([*day, later])
    (score,) = [ln for ax in rep.figures["progress"].axes for ln in ax.get_lines()
                if ln.get_gid() == "progress-score"]
    np.testing.assert_allclose(score.get_ydata(),
                               [pooled["score"], later.analysis["summary"]["score"]])
    assert "(4 sessions on 2 days, a day's recordings pooled)" in rep.summary_text()
    assert not any(h.text.startswith("Pooled") for h in rep.blocks if hasattr(h, "level"))


def test_a_pooled_day_without_a_standing_calibration_says_its_drops_are_relative(daily):
    from dataclasses import replace

    assert daily.analysis["summary"]["angle_reference"] == "walking"
    text = build_report([daily, replace(daily)]).summary_text()
    pooled = text.split("The most recent of them")[0]
    assert "The 2 recordings of" in pooled
    assert "(relative drops: a recording had no standing calibration)" in pooled


def test_sessions_of_two_people_are_refused(phantom, daily):
    with pytest.raises(ValueError, match="one person"):
        build_report([phantom, daily])


def test_the_cli_writes_html_and_pdf_and_a_person_can_read_them(tmp_path, capsys):
    cap = phantom_capture(tmp_path / "walk.sacrum", n_steps=40)
    html, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    assert main(["report", str(cap), "--person", "P002", "--mount", "recommended",
                 "--out", str(html), "--pdf", str(pdf)]) == 0
    assert "3 figures" in capsys.readouterr().out
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "P002" in text and "Pelvic control score for walk" in text
    # the pages as a person sees them, kept in tests/artifacts/ (not in git)
    ARTIFACTS.mkdir(exist_ok=True)
    if shutil.which("pdftoppm"):
        for old in ARTIFACTS.glob("report_page-*.png"):
            old.unlink()
        subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(ARTIFACTS / "report_page")],
                       check=True, timeout=60)
        assert len(list(ARTIFACTS.glob("report_page-*.png"))) >= 2
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        shot = ARTIFACTS / "report_html.png"
        shot.unlink(missing_ok=True)
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run",
                        f"--user-data-dir={tmp_path / 'chromium-profile'}",
                        "--window-size=1000,3000", f"--screenshot={shot}", html.as_uri()],
                       capture_output=True, timeout=60, check=False)
        assert shot.is_file() and shot.stat().st_size > 50_000


def test_the_pdf_is_written_from_the_same_blocks(phantom, tmp_path):
    rep = build_report([phantom])
    out = write_pdf(rep, tmp_path / "r.pdf")
    assert out.stat().st_size > 50_000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True,
                              text=True, check=True).stdout
        flat = " ".join(text.split())
        assert rep.summary_text().split(".")[0].split(";")[0] in flat

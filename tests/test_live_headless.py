"""Without a display: `sacrum demo` and `sacrum live --headless` write figures and a summary."""

from __future__ import annotations

import pytest
from matplotlib.image import imread

from live_helpers import phantom_capture
from sacrum.apps.cli import main
from sacrum.apps.live.cli import display_available


def _ink(png) -> float:
    """Fraction of pixels that are not (near) white."""
    img = imread(png)[:, :, :3]
    return float((img < 0.9).any(axis=2).mean())


def test_demo_without_a_display_says_so_and_writes_figures_and_the_summary(tmp_path, capsys,
                                                                         monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    out = tmp_path / "demo"
    assert main(["demo", "--out-dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "no display (QT_QPA_PLATFORM=offscreen): running headless" in text
    for line in ("steps:", "cadence:", "drop:", "score:", "cues:", "task:      walk"):
        assert line in text
    for name in ("traces.png", "strides.png", "drops.png"):
        png = out / name
        assert png.exists() and _ink(png) > 0.03, name
    assert str(out / "traces.png") in text


def test_live_headless_on_a_phantom_capture_scores_it(tmp_path, capsys):
    cap = tmp_path / "p.sacrum"
    phantom_capture(cap, n_steps=44)
    assert main(["live", "--replay", str(cap), "--headless", "--threshold-deg", "6.5",
                 "--out-dir", str(tmp_path / "figs")]) == 0
    text = capsys.readouterr().out
    drop = next(x for x in text.splitlines() if x.startswith("drop:"))
    left = float(drop.split("left stance ")[1].split("°")[0])
    right = float(drop.split("right stance ")[1].split("°")[0])
    assert left == pytest.approx(4.0, abs=1.0) and right == pytest.approx(9.0, abs=1.0)
    assert "score:     none" not in text
    assert _ink(tmp_path / "figs" / "drops.png") > 0.03


def test_display_detection(monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert display_available() == (False, "no DISPLAY or WAYLAND_DISPLAY")
    assert display_available(gui=True)[0]
    monkeypatch.setenv("DISPLAY", ":0")
    assert display_available()[0]
    assert not display_available(headless=True)[0]
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert not display_available()[0]


def test_missing_capture_is_a_one_line_error(tmp_path, capsys):
    assert main(["live", "--replay", str(tmp_path / "none.sacrum"), "--headless"]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_session_without_steps_says_so_in_its_figures(tmp_path, capsys):
    """Standing still for 5 s: no steps, so the stride and drop panels say so inside."""
    import numpy as np

    from sacrum.apps.live.cli import make_session
    from sacrum.apps.live.headless import run_headless
    from sacrum.testing.generator import make_capture

    n = 500
    q = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    acc = np.tile([0.0, 0.0, 9.80665], (n, 1))
    cap = tmp_path / "still.sacrum"
    make_capture(cap, q, acc, np.zeros((n, 3)), 100)
    assert main(["live", "--replay", str(cap), "--headless", "--out-dir",
                 str(tmp_path / "figs")]) == 0
    out = run_headless(make_session("replay", str(cap), speed=None), tmp_path / "again")
    assert sorted(p.name for p in out.figures) == sorted(out.drawn)
    assert all(p.stat().st_size > 0 for p in out.figures)
    said = {name: [t for ax in fig.axes for t in ax.texts if t.get_gid() == "nothing"]
            for name, fig in out.drawn.items()}
    assert len(said["strides.png"]) == 2 and len(said["drops.png"]) == 2
    assert said["traces.png"] == []


def test_live_converges_on_the_offline_analysis_of_the_same_capture(tmp_path, capsys):
    """When a replay ends, what the session shows is `sacrum analyze` of the capture: the
    --json document equals analyze's, and the printed score and drops are its numbers."""
    import json

    from sacrum.analysis import analyze
    from sacrum.apps.live.cli import make_session
    from sacrum.resources import demo_capture
    from sacrum.scoring.score import format_score

    cap = demo_capture()
    out = tmp_path / "live.json"
    assert main(["live", "--replay", str(cap), "--headless", "--json", str(out),
                 "--out-dir", str(tmp_path / "figs")]) == 0
    text = capsys.readouterr().out
    live_doc = json.loads(out.read_text())
    offline = json.loads(json.dumps(analyze(cap).to_json()))  # JSON values, as written
    for doc in (live_doc, offline):
        doc["input"].pop("path")
    assert live_doc == offline
    s = offline["summary"]
    score_line = next(x for x in text.splitlines() if x.startswith("score:"))
    assert format_score(s["score"], s["score_interval"]) in score_line
    drop_line = next(x for x in text.splitlines() if x.startswith("drop:"))
    assert f"left stance {s['contralateral_drop_deg']['L']:.1f}°" in drop_line
    # the session's snapshot after the end carries the same numbers for the window
    session = make_session("replay", str(cap), speed=None, history_s=3600.0)
    session.run_sync()
    snap = session.snapshot()
    assert snap.final and snap.score == pytest.approx(s["score"])
    assert snap.steps_total == len(offline["steps"])
    assert snap.drop_deg["R"] == pytest.approx(s["contralateral_drop_deg"]["R"])


def test_live_json_without_a_capture_is_one_clear_error(tmp_path, capsys):
    rc = main(["live", "--simulate", "--duration", "3", "--headless",
               "--json", str(tmp_path / "x.json"), "--out-dir", str(tmp_path / "figs")])
    assert rc == 1 and not (tmp_path / "x.json").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--json" in err[0]


@pytest.mark.parametrize("standing", [True, False])
def test_figures_say_when_the_angles_are_relative(standing, tmp_path):
    """No standing calibration (the demo: its still period is sitting): every figure's title
    says the angles are relative to the walking mean; a phantom that stands first: none. The
    demo marks its tasks: a mark's note is no title (the traces' mark loop once reused the
    title's variable)."""
    from sacrum import resources
    from sacrum.apps.live.cli import make_session
    from sacrum.apps.live.headless import RELATIVE_NOTE, run_headless

    if standing:
        cap = tmp_path / "p.sacrum"
        phantom_capture(cap, n_steps=30)
    else:
        cap = resources.demo_capture()
    out = run_headless(make_session("replay", str(cap), speed=None), tmp_path / "figs")
    titles = {name: fig.get_suptitle() for name, fig in out.drawn.items()}
    assert len(titles) == 3
    assert all(t.endswith(RELATIVE_NOTE) is not standing for t in titles.values()), titles
    assert titles["traces.png"] == "pelvic angles over the session" + (
        "" if standing else RELATIVE_NOTE)
    # a mark with a note (the M key) is drawn on the traces; the title stays the title
    from dataclasses import replace

    from sacrum.apps.live.headless import traces_figure

    s = make_session("replay", str(cap), speed=None)
    s.run_sync()
    snap = s.snapshot(60.0)
    marked = replace(snap, marks=[(float(snap.t_s[len(snap.t_s) // 2]), "knee pain")])
    fig = traces_figure(marked, RELATIVE_NOTE)
    assert fig.get_suptitle() == "pelvic angles over the session" + RELATIVE_NOTE
    assert "knee pain" in [x.get_text() for ax in fig.axes for x in ax.texts]

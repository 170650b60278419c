"""The live window, offscreen: what it draws is what the session and the scorer computed."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from live_helpers import dark_pixels, packets_of, phantom_capture
from sacrum.apps.cli import DEMO_CAPTURE
from sacrum.apps.live.cli import make_session
from sacrum.apps.live.session import LiveSession
from sacrum.io.decode import decode_capture
from sacrum.io.transports.replay import ReplayTransport
from sacrum.testing.generator import LinkModel

pytest.importorskip("pytestqt")
from sacrum.apps.live.window import LiveWindow

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _window(qtbot, session, flashes: list | None = None, **kw) -> LiveWindow:
    w = LiveWindow(session, audio=False, autostart=False, **kw)
    if flashes is not None:
        w.feedback.flash.connect(flashes.append)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.refresh()
    return w


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    path = tmp_path_factory.mktemp("live") / "phantom.sacrum"
    truth = phantom_capture(path, n_steps=44, stand_s=4.0)
    return path, truth


def test_demo_replay_draws_the_sessions_traces_bars_and_score(qtbot, tmp_path):
    session = make_session("replay", str(DEMO_CAPTURE), speed=None)
    empty = _window(qtbot, LiveSession(lambda: None))
    blank_traces = dark_pixels(empty.traces)
    session.run_sync()
    w = _window(qtbot, session)
    snap = w.last_snapshot
    assert snap is not None and snap.seq == session.seq
    for i, curve in enumerate(w.traces.curves):  # degrees at the display edge
        x, y = curve.getData()
        np.testing.assert_allclose(x, snap.t_s)
        np.testing.assert_allclose(y, np.degrees(snap.angles_rad[:, i]), equal_nan=True)
    x0, x1 = w.traces.plots[0].viewRange()[0]
    assert x1 == pytest.approx(snap.t_now_s) and x1 - x0 == pytest.approx(10.0)
    # the capture ended: the drop bars and numbers show its final (offline) analysis
    summary = session.final_analysis["summary"]
    assert snap.final and w.score_panel.title() == "score: final, the whole capture"
    for side in "LR":
        assert w.drops.values_deg[side] == pytest.approx(summary["contralateral_drop_deg"][side])
    heights = w.drops.bar.opts["height"]
    assert heights[0] == pytest.approx(summary["contralateral_drop_deg"]["L"])
    assert w.score_panel.numbers.text().startswith(f"cadence {summary['cadence_spm']:.0f}")
    assert w.score_panel.message.text() == snap.message
    assert "ended" in w.conn.labels["state"].text()
    assert "replay" in w.conn.labels["transport"].text()
    assert "100 Hz" in w.conn.labels["rate"].text()
    assert w.overlay.shown == len(snap.curves) > 0
    # the overlay's bold means: the final analysis' gait-cycle curves (the report's)
    cv = summary["tasks"][0]["curves"]
    for side in "LR":
        for k, name in enumerate(("obliquity_deg", "tilt_deg")):
            _, y = w.overlay._mean[side][k].getData()
            np.testing.assert_allclose(y, cv[side][name]["mean"], atol=1e-9)
    assert (w.overlay.tilt.titleLabel.text
            == f"tilt, final: {cv['L']['n']} L + {cv['R']['n']} R strides (°)")
    # the screenshot, kept as a test artefact (tests/artifacts/, not in git); the plot
    # areas hold drawn traces
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "live_window_demo.png"
    assert w.grab().save(str(png))
    assert png.stat().st_size > 20_000
    assert dark_pixels(w.traces) > blank_traces + 2000
    assert dark_pixels(w.overlay, level=230) > dark_pixels(empty.overlay, level=230) + 1000
    w.set_athlete(True)
    w._last_seq = -1
    w.refresh()
    assert w.athlete_view.drop["L"].text().startswith(
        f"{summary['contralateral_drop_deg']['L']:.1f}°")
    assert w.grab().save(str(ARTIFACTS / "live_window_athlete.png"))


def test_task_switch_and_mark_write_annotations_into_the_recording(qtbot, tmp_path, phantom):
    path, _ = phantom
    packets = packets_of(path)
    session = LiveSession(lambda: ReplayTransport(path, speed=None))
    out = tmp_path / "rec.sacrum"
    w = _window(qtbot, session, record_path=out)
    w.toggle_recording()
    for p in packets[:60]:
        session.handle(p)
    w.task_box.setCurrentIndex(w.task_box.findData("single-leg-stance-left"))
    for p in packets[60:120]:
        session.handle(p)
    w.note.setText("wobbly")
    w.do("mark")
    w.do("task:stairs-down")  # the keyboard shortcut's action (key 3)
    for p in packets[120:150]:
        session.handle(p)
    w.do("task:")
    w.toggle_recording()
    rec = decode_capture(out)
    assert [t for t, _, _ in rec.tasks()] == ["single-leg-stance-left", "stairs-down"]
    assert all(b is not None and b > a for _, a, b in rec.tasks())
    assert [a["note"] for _, a in rec.annotations if a["type"] == "mark"] == ["wobbly"]
    w.refresh()
    labels = [lab.toPlainText() for lab in w.traces._labels if lab.isVisible()]
    assert any("stairs down" in s for s in labels)


def _cues(qtbot, path, threshold_deg):
    # the phantom's mounting given (estimated, the steps before the estimate do not cue)
    session = make_session("replay", str(path), speed=None, threshold_deg=threshold_deg,
                           mount="recommended")
    flashes: list[str] = []
    w = _window(qtbot, session, flashes)  # attached before the replay: its cues are new
    session.run_sync()
    w.refresh()
    return session, w, flashes


def test_the_cue_fires_on_the_side_over_the_threshold_only(qtbot, phantom):
    path, _ = phantom
    # the phantom drops 4° (±0.5°) in left stance and 9° (±0.5°) in right stance
    session, w, flashes = _cues(qtbot, path, 6.5)
    steps = session.scorer.steps
    # the steps the scorer counts (not at a bout's edges: those are excluded)
    over = [s for s in steps if s.contralateral_drop_deg > 6.5 and s.excluded is None]
    assert len(over) >= 10 and {s.stance_side for s in over} == {"R"}
    assert flashes == ["R"] * len(over) == [c.side for c in w.last_snapshot.cues]
    assert w.feedback.delivered == len(over)
    # the flash (until its timer runs) says the drop of the step it is for, the newest
    newest = w.last_snapshot.cues[-1]
    assert w.feedback.last == newest
    assert w.cue_label.text() == (f"⚠ right stance: drop {newest.drop_deg:.1f}°, over the "
                                  "threshold")
    assert w.drops.values_deg["R"] == pytest.approx(9.0, abs=1.5)
    assert w.drops.values_deg["L"] == pytest.approx(4.0, abs=1.5)
    snap = w.last_snapshot
    assert snap.score is not None and snap.score_interval is not None
    lo, hi = snap.score_interval
    assert lo <= snap.score <= hi
    # the score is shown with its 90 % interval, as the report and the CLI print it
    assert w.score_panel.score.text() == f"{snap.score:.0f} ({lo:.0f}–{hi:.0f})"
    # with the threshold above both sides' drops: no cue at all
    _, w2, flashes2 = _cues(qtbot, path, 11.0)
    assert flashes2 == [] and w2.feedback.delivered == 0
    # a window attached after the replay has ended flashes none of its past cues, and
    # shows the newest only as the count, not as a flash
    late: list[str] = []
    w3 = _window(qtbot, session, late)
    assert late == [] and w3.feedback.delivered == 0 and w3.feedback.last is None
    assert len(w3.last_snapshot.cues) == len(over)


def test_calibration_countdown_then_accepted_standing_and_refused_walking(qtbot, phantom):
    path, _ = phantom
    packets = packets_of(path)
    session = LiveSession(lambda: ReplayTransport(path, speed=None), calibrate_s=2.0)
    w = _window(qtbot, session)
    it = iter(packets)

    def feed_until(t_s):
        while not (session.t_now_s >= t_s):
            session.handle(next(it))
        w.refresh()

    feed_until(0.3)
    w.do("calibrate")
    w.refresh()
    assert w.calibration_label.text() == "stand still… 2.0 s"
    feed_until(1.3)
    left = float(w.calibration_label.text().split("…")[1].split()[0])
    assert 0.8 < left < 1.1
    feed_until(2.6)
    assert session.snapshot().calibration.state == "accepted"
    assert w.calibration_label.text().startswith("accepted")
    feed_until(12.0)  # walking
    w.calibrate_btn.click()
    feed_until(15.0)
    cal = session.snapshot().calibration
    assert cal.state == "rejected" and "standing" in cal.message
    assert w.calibration_label.text().startswith(cal.message)
    assert math.isfinite(session.t_now_s)


def test_freeze_keeps_the_view_and_scrolls_back(qtbot, phantom):
    path, _ = phantom
    session = make_session("replay", str(path), speed=None)
    session.run_sync()
    w = _window(qtbot, session)
    w.do("freeze")
    end = w.traces.plots[0].viewRange()[0][1]
    w.do("back")
    w.do("back")
    assert w.traces.plots[0].viewRange()[0][1] == pytest.approx(end - 4.0)
    w.do("forward")
    assert w.traces.plots[0].viewRange()[0][1] == pytest.approx(end - 2.0)
    w.do("freeze")
    w.refresh()
    assert w.traces.plots[0].viewRange()[0][1] == pytest.approx(session.t_now_s)


def test_live_thread_feeds_the_window_and_disconnect_keeps_the_data(qtbot, phantom):
    path, _ = phantom
    session = make_session("replay", str(path), speed=5.0)
    w = LiveWindow(session, audio=False, fps=60)  # autostart: the engine thread
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: session.snapshot().link.loss.samples_received > 300, timeout=5000)
    qtbot.waitUntil(lambda: len(w.frame_times) > 5, timeout=2000)
    w.do("connection")  # disconnect
    assert not session.running
    kept = session.snapshot(60.0)
    assert kept.link.state == "disconnected" and len(kept.t_s) > 300
    w.refresh()
    assert "disconnected" in w.conn.labels["state"].text()
    qtbot.wait(300)  # the pause becomes a gap of that length on the time axis
    w.do("connection")  # connect again: the time axis goes on after the pause
    qtbot.waitUntil(lambda: session.snapshot().t_now_s > kept.t_now_s + 1.0, timeout=5000)
    w.close()
    after = session.snapshot(120.0)
    assert np.all(np.diff(after.t_s) > 0) and after.t_s[0] == pytest.approx(kept.t_s[0])
    (a, b), = after.gaps
    assert a == pytest.approx(kept.t_now_s + 0.01, abs=0.02) and 0.25 < b - a < 1.5


def test_the_task_chooser_follows_a_task_set_elsewhere(qtbot, phantom):
    """A task that comes from a replayed capture's records (or a script) shows in the
    chooser, without the chooser setting it again."""
    path, _ = phantom
    session = LiveSession(lambda: ReplayTransport(path, speed=None))
    w = _window(qtbot, session)
    for p in packets_of(path)[:40]:
        session.handle(p)
    calls = []
    session.set_task, real = (lambda task: calls.append(task)), session.set_task
    real("step-down-right")
    w._last_seq = -1
    w.refresh()
    assert w.task_box.currentData() == "step-down-right"
    assert calls == []                     # shown, not chosen again


def test_turns_show_in_the_traces_with_their_angle_and_duration(qtbot, tmp_path):
    """The gait stage's turns, shaded in all three traces, labelled with angle and duration
    in the rotation plot; the screenshot goes to tests/artifacts/."""
    path = tmp_path / "uturn.sacrum"
    phantom_capture(path, n_steps=44, stand_s=3.0, turns=((20, 180.0, 2.0),))
    session = make_session("replay", str(path), speed=None, history_s=200.0)
    session.run_sync()
    w = _window(qtbot, session, span_s=40.0)
    snap = w.last_snapshot
    (live,) = session.scorer.pipeline.gait.turns
    # the data ended: the final analysis' turn (its angle within a degree of the live one)
    (turn,) = session.final_analysis["turns"]
    signed = turn["angle_deg"] if turn["direction"] == "left" else -turn["angle_deg"]
    assert snap.final and snap.turns == [(turn["t_start_s"], turn["t_end_s"], signed)]
    assert signed == pytest.approx(live.angle_deg, abs=1.0)
    turn = SimpleNamespace(t_start_s=turn["t_start_s"], t_end_s=turn["t_end_s"],
                           angle_deg=signed)
    for bars in w.traces._turns:
        assert bars.opts["x0"][0] == pytest.approx(turn.t_start_s)
        assert bars.opts["width"][0] == pytest.approx(turn.t_end_s - turn.t_start_s)
    shown = [lab.toPlainText() for lab in w.traces._turn_labels if lab.isVisible()]
    assert len(shown) == 1
    assert f"{abs(turn.angle_deg):.0f}°" in shown[0]
    assert f"{turn.t_end_s - turn.t_start_s:.1f} s" in shown[0]
    # the rotation is grey where the heading is not settled: in the turn, not when straight
    x, y = w.traces._unsettled.getData()
    grey = x[np.isfinite(y)]
    mid = 0.5 * (turn.t_start_s + turn.t_end_s)
    assert grey.min() < mid < grey.max()
    assert not ((grey > 6.0) & (grey < turn.t_start_s - 2.0)).any()
    ARTIFACTS.mkdir(exist_ok=True)
    assert w.grab().save(str(ARTIFACTS / "live_window_turn.png"))


def _pixels(image_rgb: np.ndarray, rgb: tuple[int, int, int]) -> int:
    return int(np.count_nonzero(np.all(image_rgb == np.array(rgb), axis=2)))


def _widget_rgb(widget) -> np.ndarray:
    image = widget.grab().toImage()
    img = image.convertToFormat(image.Format.Format_RGB32)
    buf = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    bgra = buf[:, :img.width() * 4].reshape(img.height(), img.width(), 4)
    # BGRA in memory: to RGB, copied (a view would read img's buffer after img is freed:
    # the colours counted were then whatever the next allocation left there)
    return bgra[:, :, 2::-1].copy()


def test_left_and_right_have_the_palettes_colours_in_the_live_view_demo_and_report(
        qtbot, tmp_path, phantom):
    """What is drawn, not the source: the live view's drop bars and stride means, the headless
    demo's drop figure (PNG pixels) and the report's drop bars (matplotlib artists) all show
    left and right in sacrum.apps.palette's colours."""
    import matplotlib.colors as mcolors
    import matplotlib.image as mimage

    from sacrum.analysis import analyze
    from sacrum.apps import palette
    from sacrum.apps.live.headless import run_headless
    from sacrum.apps.report import figures

    path, _ = phantom
    session = make_session("replay", str(path), speed=None)
    session.run_sync()
    w = _window(qtbot, session)
    bars = _widget_rgb(w.drops)
    overlay = _widget_rgb(w.overlay)
    for side, rgb in palette.SIDE_RGB.items():
        assert _pixels(bars, rgb) > 500, side  # the bar, filled
        assert _pixels(overlay, rgb) > 100, side  # the side's mean stride, opaque
    # the headless demo: its drops figure (opaque bars and markers)
    out = run_headless(make_session("replay", str(path), speed=None), tmp_path / "demo")
    png = next(p for p in out.figures if p.name == "drops.png")
    img = np.round(mimage.imread(png)[:, :, :3] * 255).astype(int)
    for side, rgb in palette.SIDE_RGB.items():
        assert _pixels(img, rgb) > 500, side
    # the report: the drop bars of the analysis of the same capture
    doc = analyze(path, mount="recommended").to_json()
    task = doc["summary"]["tasks"][0]
    fig = figures.drop_bars(task)
    drawn = {a.get_gid(): a.get_facecolor() for ax in fig.axes for a in ax.patches
             if a.get_gid()}
    for side, hex_colour in palette.SIDE.items():
        assert drawn[f"drop-{side}"] == pytest.approx(mcolors.to_rgba(hex_colour))


def test_a_drop_label_is_not_drawn_across_the_threshold_line(qtbot):
    """A bar whose label would straddle the dashed cue threshold has it just over the line
    (the IPOL 6-5 window read "3.7° normal" struck through at 7°); one well clear of it
    stays on its bar."""
    from sacrum.apps.live.bars import LABEL_DEG, DropBars

    bars = DropBars()
    qtbot.addWidget(bars)
    bars.set_values({"L": 1.0, "R": 3.7}, {"L": 7.0, "R": 7.0})
    low, mid = (t.pos().y() for t in bars.text)
    assert low == pytest.approx(1.0 + 1.6)                   # clear below: on its bar
    assert not mid <= 7.0 <= mid + LABEL_DEG and mid == pytest.approx(7.4)


def test_lost_data_is_hatched_as_densely_as_it_is_lost(qtbot, tmp_path):
    """Many short runs of lost samples (packets lost one at a time) are hatched with the
    share of each few-pixel bucket that is lost, not each at least a pixel wide: the hatch's
    ink (width × share) is the time lost in view, a long outage is hatched fully at its own
    bounds, and a snapshot of a lossy capture draws exactly that."""
    from sacrum.apps.live.traces import lost_bars

    rng = np.random.default_rng(1)
    starts = np.sort(rng.uniform(0.0, 29.0, 171))
    gaps = [(float(a), float(a) + 0.01) for a in starts] + [(12.0, 13.0)]
    x0, w, share = lost_bars(gaps, 0.0, 30.0, 0.07)
    assert np.sum(w * share) == pytest.approx(171 * 0.01 + 1.0, abs=1e-9)
    assert ((share > 0) & (share <= 1)).all()
    full = (x0 == 12.0) & np.isclose(w, 1.0)
    assert full.sum() == 1 and share[full][0] == 1.0
    # drawn one per pixel, they would cover 171 px of a 430-px (0.07 s / 3 px) view: 40 %
    assert np.sum(w * share) / 30.0 < 0.1

    path = tmp_path / "lossy.sacrum"
    phantom_capture(path, n_steps=30, link=LinkModel(p_transit_loss=0.05))
    session = make_session("replay", str(path), speed=None, history_s=60.0)
    session.run_sync()
    win = _window(qtbot, session, span_s=20.0)
    snap = win.last_snapshot
    assert len(snap.gaps) > 5
    bars = win.traces._gaps[0].opts
    alphas = np.array([b.color().alpha() for b in bars["brushes"]])
    ink = np.sum(np.asarray(bars["width"]) * alphas / 200.0)
    x_hi = float(snap.t_s[-1])
    lost = sum(min(b, x_hi) - max(a, x_hi - 20.0) for a, b in snap.gaps
               if b > x_hi - 20.0 and a < x_hi)
    assert ink == pytest.approx(lost, rel=0.05, abs=0.02)

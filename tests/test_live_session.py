"""The live session engine without Qt: replay, recording, annotations, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from live_helpers import packets_of, phantom_capture
from sacrum.apps.cli import DEMO_CAPTURE
from sacrum.apps.live.cli import make_session
from sacrum.apps.live.session import LiveSession
from sacrum.io.decode import decode_capture
from sacrum.io.stream import StreamDecoder
from sacrum.io.transports import LinkEvent, Packet, Transport, TransportError, TransportInfo
from sacrum.io.transports.replay import ReplayTransport
from sacrum.scoring.livescore import LiveScorer
from sacrum.signal.mounting import parse_mount
from sacrum.testing.generator import LinkModel


@pytest.fixture(scope="module")
def demo_session():
    s = make_session("replay", str(DEMO_CAPTURE), speed=None, history_s=200.0,
                     overlay_strides=400)  # every stride, as the headless figures keep
    s.run_sync()
    return s


def test_replayed_demo_fills_the_snapshot_with_the_scorers_angles_steps_and_tasks(demo_session):
    snap = demo_session.snapshot(10.0)
    table = decode_capture(DEMO_CAPTURE)
    assert snap.link.state == "ended" and "data kept" in snap.link.message
    assert snap.link.loss.samples_received == len(table) and snap.link.rate_hz == 100
    # the live stream's angles (kept in the view's ring) and steps are those of the same
    # scorer fed packet by packet (the mounting and the zero are estimated as the data
    # come, and the steps so far scored again with them: livescore.py steps 0 and 1b; the
    # rows as they were given out)
    live_t, live_rows = demo_session.view.ring.since(snap.t_now_s - 10.0)
    n = len(live_t)
    assert 999 <= n <= 1001
    ref = LiveScorer(table.rate_hz, parse_mount("recommended"), estimate_mounting=True,
                     walking_zero=True)
    dec = StreamDecoder()
    rows = []
    for p in packets_of(DEMO_CAPTURE):
        c = dec.update(p)
        if c is not None:
            rows.append(ref.update(c.t_device_s, c.acc_mps2, c.gyr_radps, c.q).chunk.angles_rad)
    np.testing.assert_allclose(live_rows[:, :3], np.vstack(rows)[-n:], atol=1e-9)
    # on the capture's time, as the analysis reads it (docs/live.md, "Thread model")
    np.testing.assert_allclose(live_t, table.t_s[-n:], atol=1e-6)
    assert live_t[-1] - live_t[0] == pytest.approx(10.0, abs=0.02)
    ref.flush()
    assert len(demo_session.scorer.steps) == len(ref.steps) > 20  # the live steps
    assert (sum(s.excluded is None for s in demo_session.scorer.steps)
            == sum(s.excluded is None for s in ref.steps))
    assert demo_session.scorer.summary.contralateral_drop_deg == pytest.approx(
        ref.summary.contralateral_drop_deg, nan_ok=True)
    # the capture ended: the snapshot shows its offline analysis (one answer with analyze)
    final = demo_session.final_analysis
    assert snap.final and final is not None
    assert snap.steps_total == len(final["steps"])
    assert snap.steps_used == final["summary"]["n_steps_used"]
    assert snap.drop_deg == pytest.approx(final["summary"]["contralateral_drop_deg"])
    # gait events in the span, stance phases from IC to the same foot's FC
    assert any(k == "IC" for _, k, _ in snap.events)
    for side, a, b in snap.stance:
        assert side in "LR" and 0.2 < b - a < 2.5
    # the capture's six walk marks were replayed as tasks on the session's time axis
    full = demo_session.snapshot(200.0)
    assert [t for t, _, _ in full.tasks] == ["walk"] * 6
    for (_, a, b), (_, ta, tb) in zip(full.tasks, table.tasks(), strict=True):
        assert a == pytest.approx(ta, abs=0.2)
        assert b == pytest.approx(tb, abs=0.2)
    assert snap.calibration.calibrated


def test_recording_keeps_every_packet_and_writes_tasks_and_marks(tmp_path):
    src = tmp_path / "src.sacrum"
    phantom_capture(src, n_steps=16)
    packets = packets_of(src)
    out = tmp_path / "rec.sacrum"
    s = LiveSession(lambda: ReplayTransport(src, speed=None))
    assert s.start_recording(out) == ""
    i1, i2, i3 = (len(packets) * k // 4 for k in (1, 2, 3))
    for i, p in enumerate(packets):
        s.handle(p)
        if i == i1:
            s.set_task("stairs-up")
        elif i == i2:
            s.mark("knee pain")
        elif i == i3:
            s.set_task("walk")  # stops stairs-up, starts walk
    s.set_task(None)
    assert s.stop_recording() == str(out)
    rec = decode_capture(out)
    orig = decode_capture(src)
    assert len(rec) == len(orig)
    np.testing.assert_array_equal(rec.acc_mps2, orig.acc_mps2)
    tasks = rec.tasks()
    assert [t for t, _, _ in tasks] == ["stairs-up", "walk"]
    # the annotations sit on the packets' clock, where the data were when they were made
    t_pkt = [(p.host_time_ns - packets[0].host_time_ns) * 1e-9 for p in packets]
    assert tasks[0][2] == pytest.approx(tasks[1][1])
    assert tasks[1][1] - tasks[0][1] == pytest.approx(t_pkt[i3] - t_pkt[i1], abs=0.05)
    # on the recording's own time axis: where the packet that came just before was
    assert tasks[0][1] == pytest.approx(t_pkt[i1], abs=0.1)
    marks = [a["note"] for _, a in rec.annotations if a.get("type") == "mark"]
    assert marks == ["knee pain"]
    snap = s.snapshot(60.0)
    assert [t for t, _, _ in snap.tasks] == ["stairs-up", "walk"] and snap.task is None
    assert snap.marks[0][1] == "knee pain"


def test_annotate_writes_a_record_where_the_data_are_and_says_when_it_cannot(tmp_path):
    """``LiveSession.annotate``: any annotation record (here the guided session's mounting)
    into the recording at the packets' clock; False when not recording; one the writer
    refuses raises and the recording goes on."""
    src = tmp_path / "src.sacrum"
    phantom_capture(src, n_steps=16)
    packets = packets_of(src)
    out = tmp_path / "rec.sacrum"
    s = LiveSession(lambda: ReplayTransport(src, speed=None))
    mounting = {"type": "mounting", "spec": "recommended", "source": "given",
                "q_sensor_to_body": [float(v) for v in parse_mount("recommended")]}
    assert s.annotate(mounting) is False
    assert s.start_recording(out) == ""
    half = len(packets) // 2
    for i, p in enumerate(packets):
        s.handle(p)
        if i == half:
            assert s.annotate(mounting) is True
            with pytest.raises(ValueError):
                s.annotate({"type": "no-such-record"})
    assert s.stop_recording() == str(out)
    rec = decode_capture(out)
    assert len(rec) == len(decode_capture(src))
    (got,) = [(t, a) for t, a in rec.annotations if a.get("type") == "mounting"]
    assert got[1] == mounting
    t_half = (packets[half].host_time_ns - packets[0].host_time_ns) * 1e-9
    assert got[0] == pytest.approx(t_half, abs=0.1)
    assert all(a.get("type") != "no-such-record" for _, a in rec.annotations)


def test_a_recorded_session_is_on_its_recordings_time(tmp_path):
    """Recording from the first packet (``record_to``), the session's axis is the recording's
    time as the analysis reads it: from the first packet's arrival, later than the offline
    clock map by that packet's delivery delay over the least (a few ms on the BLE model)."""
    src = tmp_path / "src.sacrum"
    phantom_capture(src, n_steps=16)
    out = tmp_path / "rec.sacrum"
    s = LiveSession(lambda: ReplayTransport(src, speed=None), record_to=out, history_s=60.0)
    s.run_sync()
    assert s.final_analysis is not None  # converged on the recording
    snap = s.snapshot(60.0)
    rec = decode_capture(out)
    assert len(snap.t_s) == len(rec)
    lag = snap.t_s - rec.t_s
    assert np.ptp(lag) < 1e-3 and 0.0 <= lag[0] < 0.03


def test_lost_packets_become_counted_gaps_of_nan_rows(tmp_path):
    src = tmp_path / "gappy.sacrum"
    phantom_capture(src, n_steps=16, link=LinkModel(outages_s=((5.0, 5.8),)))
    s = make_session("replay", str(src), speed=None, history_s=60.0)
    s.run_sync()
    snap = s.snapshot(60.0)
    off = decode_capture(src).loss
    assert snap.link.loss.samples_lost == off.samples_lost > 50
    assert snap.link.loss.gaps == off.gaps == 1
    (a, b), = snap.gaps
    assert b - a == pytest.approx(off.samples_lost / 100, abs=1e-6)
    inside = (snap.t_s > a) & (snap.t_s < b - 0.005)
    assert inside.sum() >= off.samples_lost - 1 and np.isnan(snap.angles_rad[inside]).all()
    assert np.isfinite(snap.angles_rad[snap.t_s > b + 0.1]).all()
    dt = np.diff(snap.t_s)
    assert np.allclose(dt, 0.01, atol=1e-3)  # one time axis, no jump at the gap


class FlakyTransport(Transport):
    """A radio that sends garbage, drops the link, comes back, then fails."""

    def __init__(self, items, error: Exception | None) -> None:
        self.items = items
        self.error = error
        self.info = TransportInfo("ble", {"name": "flaky"})

    async def connect(self) -> None:
        self.info.connected = True

    async def close(self) -> None:
        self.info.connected = False

    async def __aiter__(self):
        for it in self.items:
            yield it
        if self.error is not None:
            raise self.error


def test_garbage_disconnects_and_a_failing_link_never_raise_and_keep_the_data(tmp_path):
    src = tmp_path / "p.sacrum"
    phantom_capture(src, n_steps=8)
    good = packets_of(src)
    rng = np.random.default_rng(1)
    junk = [Packet(good[0].host_time_ns, 2, rng.bytes(40)), Packet(0, 99, b""), "not a packet",
            None, Packet(good[0].host_time_ns, 2, b"\x00")]
    a, b = len(good) // 3, len(good) // 3 + 20
    items = (good[:a] + junk
             + [LinkEvent(1, "disconnected", {"reason": "out of range"}),
                LinkEvent(2, "battery", {"battery_percent": 55}),
                LinkEvent(3, "rssi", {"rssi_dbm": -70})]
             + good[b:b + 10] + [LinkEvent(4, "reconnected")] + good[b + 10:])
    s = LiveSession(lambda: FlakyTransport(items, TransportError("the adapter went away")))
    s.run_sync()  # must not raise
    snap = s.snapshot(120.0)
    assert snap.link.state == "error" and "adapter went away" in snap.link.message
    assert snap.link.bad_items >= 2  # the two objects that are not packets
    assert snap.link.loss.corrupt_packets + snap.link.loss.incomplete_segments \
        + snap.link.loss.unknown_packets + snap.link.bad_items >= 3
    assert snap.link.disconnects == 1 and snap.link.reconnects == 1
    assert snap.link.battery_percent == 55 and snap.link.rssi_dbm == -70
    # the data before and after the drop are kept, the 20 missing packets are a counted gap
    assert snap.link.loss.samples_lost == 20 * 11 and snap.link.loss.gaps == 1
    assert np.isfinite(snap.angles_rad).any(axis=1).sum() == snap.link.loss.samples_received
    assert snap.steps_total > 0
    # and the link that just ends
    s2 = LiveSession(lambda: FlakyTransport(good[:50], None))
    s2.run_sync()
    assert s2.snapshot().link.state == "ended"
    assert len(s2.snapshot(60.0).t_s) == 50 * 11


def test_an_unknown_transport_is_an_error_state_not_an_exception():
    s = make_session("bogus-kind", None)
    s.run_sync()
    assert s.snapshot().link.state == "error" and "unknown transport" in s.snapshot().link.message
    assert math.isnan(s.snapshot().t_now_s)


def test_engine_thread_starts_and_stops_cleanly(tmp_path):
    src = tmp_path / "p.sacrum"
    phantom_capture(src, n_steps=8)
    s = make_session("replay", str(src), speed=4.0)
    s.start()
    deadline = __import__("time").monotonic() + 5
    while s.snapshot().link.loss.samples_received < 100:
        assert __import__("time").monotonic() < deadline
        __import__("time").sleep(0.02)
    s.stop()
    assert not s.running and s.snapshot().link.state == "stopped"
    n = len(s.snapshot(60).t_s)
    assert n >= 100


# ---- cues only where the scorer counts the step (issue 12) -----------------------------------

U_TURN = ((20, 180.0, 2.0),)  # a 180° turn over 2 s from step 20


def _replayed(path):
    s = make_session("replay", str(path), speed=None, history_s=200.0)
    s.run_sync()
    return s


def test_no_cue_without_a_calibration_even_with_drops_past_the_threshold(tmp_path):
    """A walk that starts without standing, with a U-turn, drops of 9° on both sides (the
    threshold 7°): no zero, so no cue, and the screen says which zero is in use."""
    path = tmp_path / "nostand.sacrum"
    phantom_capture(path, n_steps=44, stand_s=0.0, drop_deg=(9.0, 9.0), turns=U_TURN)
    s = _replayed(path)
    snap = s.snapshot(200.0)
    steps = s.scorer.steps
    assert sum(x.contralateral_drop_deg > 7.0 for x in steps) > 20
    assert snap.cues == []
    # (the standing at the very end zeroes the angles after the walk)
    cal = s.scorer.pipeline
    assert cal.calibrated_since_s > max(x.t_ic_s for x in steps)


def test_after_the_calibration_cues_come_on_straight_steps_and_none_in_the_turn(tmp_path):
    path = tmp_path / "turn.sacrum"
    ph = phantom_capture(path, n_steps=44, stand_s=3.0, drop_deg=(9.0, 9.0), turns=U_TURN)
    s = _replayed(path)
    snap = s.snapshot(200.0)
    assert snap.calibration.calibrated and snap.calibration.reference == "standing"
    (turn,) = s.scorer.pipeline.gait.turns
    t0, t1, _ = ph["turns"][0]
    assert turn.t_start_s < t1 and turn.t_end_s > t0  # the gait stage found the U-turn
    final = {x.t_ic_s: x for x in s.scorer.steps}
    cued = [final[c.t_ic_s] for c in snap.cues]
    assert len(cued) > 15  # the straight steps past the threshold cue
    assert all(x.excluded is None for x in cued)  # only steps the scorer counts
    in_turn = [x for x in s.scorer.steps
               if x.t_ic_s <= turn.t_end_s and x.t_ic_s + x.stride_time_s >= turn.t_start_s]
    assert in_turn and not {x.t_ic_s for x in in_turn} & {c.t_ic_s for c in snap.cues}
    assert {x.stance_side for x in cued} == {"L", "R"}


def test_the_zero_in_use_is_named():
    from sacrum.apps.live.session import CalibrationState

    words = {CalibrationState().zero,
             CalibrationState(calibrated=True, reference="standing").zero,
             CalibrationState(calibrated=True, reference="walking").zero}
    assert len(words) == 3


# ---- a session without walking (sacrum exercise; issue 16 item 5) ------------------------------

def test_a_session_without_walking_keeps_orientation_tilt_and_obliquity_and_runs_no_gait(tmp_path):
    """``walking=False``: the same orientation, zero, tilt and obliquity as the full session on
    the same walk, but no gait events, steps, turns, progression heading (rotation NaN) or
    running stage."""
    path = tmp_path / "walk.sacrum"
    phantom_capture(path, n_steps=24, turns=((12, 90.0, 1.5),))
    runs = {}
    for walking in (True, False):
        s = LiveSession(lambda: ReplayTransport(path, speed=None), mount="recommended",
                        history_s=200.0, walking=walking)
        s.run_sync()
        runs[walking] = (s, s.snapshot(200.0))
    (full, fsnap), (bare, bsnap) = runs[True], runs[False]
    assert len(full.scorer.steps) > 15 and full.scorer.pipeline.gait.turns
    assert full.running_stage is not None and fsnap.running is not None
    assert bare.scorer.steps == [] and bare.scorer.pipeline.gait.turns == []
    assert not bsnap.events and bsnap.cues == []
    assert bare.running_stage is None and bsnap.running is None
    assert bsnap.calibration.calibrated and bsnap.calibration.reference == "standing"
    np.testing.assert_array_equal(bsnap.t_s, fsnap.t_s)
    np.testing.assert_allclose(bsnap.angles_rad[:, :2], fsnap.angles_rad[:, :2], atol=1e-12)
    assert np.isnan(bsnap.angles_rad[:, 2]).all()
    assert np.isfinite(fsnap.angles_rad[:, 2]).mean() > 0.9


def test_at_the_end_the_snapshot_draws_the_final_analysis_angles_steps_and_strides(
        demo_session):
    """While the data flow the traces and the overlay are the live stream's; once the data
    end they are the final analysis' (the live zero and mounting are estimated as the data
    come and sit degrees away from the whole capture's: the demo's live tilt reads 4°
    higher in its bouts): its angles per sample, its ICs and stance phases, its turns, and
    every used stride, so the overlay's means are the report's gait-cycle curves."""
    from sacrum.analysis import analyze

    doc = demo_session.final_analysis
    a = analyze(DEMO_CAPTURE)
    snap = demo_session.snapshot(200.0)
    assert snap.final
    s = a.samples
    np.testing.assert_allclose(snap.t_s, s["t_s"].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(
        snap.angles_rad, s[["tilt_rad", "obliquity_rad", "rotation_rad"]].to_numpy(),
        atol=1e-12, equal_nan=True)
    assert [(round(t, 6), k, sd) for t, k, sd in snap.events] == [
        (round(t, 6), k, sd) for t, k, sd in zip(a.events["t_s"], a.events["kind"],
                                                  a.events["side"], strict=True)]
    assert len(snap.turns) == len(doc["turns"]) > 0
    # not what the live stream drew: that stays in the view's ring
    live_t, live_rows = demo_session.view.ring.since(snap.t_s[0])
    np.testing.assert_allclose(live_t, snap.t_s, atol=1e-9)
    in_bout = s["in_bout"].to_numpy(bool)
    assert abs(np.nanmean(np.degrees(live_rows[in_bout, 0] - snap.angles_rad[in_bout, 0]))) > 1
    # the overlay: every used stride of the final analysis; per side, as many as its
    # curves count, and their mean is its curve (the report draws it)
    curves = snap.curves
    assert curves and all(c.used for c in curves)
    task = doc["summary"]["tasks"][0]
    assert len(doc["summary"]["tasks"]) == 1
    for side in "LR":
        mine = [c for c in curves if c.side == side]
        assert len(mine) == task["curves"][side]["n"] >= 2
        for name, attr in (("obliquity_deg", "obliquity_rad"), ("tilt_deg", "tilt_rad")):
            np.testing.assert_allclose(
                np.degrees(np.mean([getattr(c, attr) for c in mine], 0)),
                task["curves"][side][name]["mean"], atol=1e-9)


def test_connecting_again_after_the_end_shows_the_live_stream_again(tmp_path):
    """Once converged the snapshot is the final analysis'; the window's Connect starts a
    new link on the same time axis, and from then on the snapshot is live again (its
    traces the ring's, not the final analysis' that ends where the first link ended)."""
    path = tmp_path / "p.sacrum"
    phantom_capture(path, n_steps=16)
    speeds = iter([None, 1.0])  # the first link replayed at once, the second in real time
    s = LiveSession(lambda: ReplayTransport(path, speed=next(speeds)), final_capture=path,
                    history_s=200.0)
    s.run_sync()
    end = s.snapshot(200.0)
    assert end.final and len(end.t_s) > 100
    s.connect()
    try:
        again = s.snapshot(200.0)
        assert not again.final and again.message != end.message
        t_ring, _ = s.view.ring.since(again.t_now_s - 200.0)
        np.testing.assert_array_equal(again.t_s, t_ring)
    finally:
        s.stop()


def test_used_in_summaries_leaves_out_steps_outside_every_task():
    from sacrum.apps.live.converge import used_in_summaries

    tasked = [{"excluded": None, "task": "walk"}, {"excluded": None, "task": None},
              {"excluded": "turn", "task": "walk"}]
    assert used_in_summaries(tasked) == [True, False, False]
    assert used_in_summaries([{"excluded": None, "task": None}]) == [True]  # no tasks


def test_the_drops_figure_counts_the_steps_the_summary_uses(demo_session):
    """drops.png's legend: used steps per stance side as the final summary counts them (the
    demo has a used step before its first walk mark: in no summary, so not "used")."""
    from sacrum.apps.live.headless import drops_figure

    fig = drops_figure(demo_session, demo_session.snapshot(10.0))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    by_side = demo_session.final_analysis["summary"]["n_steps_by_side"]
    for side in "LR":
        assert f"{side} stance, used ({by_side[side]})" in labels, labels


def test_the_drops_figure_says_too_few_steps_where_steps_were_used():
    """The bundled straight walk: 3 left and 4 right steps used, no median (fewer than 5
    per side); the bars panel says so with the counts of the panel beside it, not "no usable
    steps"."""
    from pathlib import Path

    from sacrum.apps.live.headless import drops_figure

    straight = Path(__file__).parents[1] / "examples" / "mobgap_ha001_straight_walk.sacrum"
    s = make_session("replay", str(straight), speed=None)
    s.run_sync()
    fig = drops_figure(s, s.snapshot(20.0))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    by_side = s.final_analysis["summary"]["n_steps_by_side"]
    assert all(by_side[k] for k in "LR")
    for side in "LR":
        assert f"{side} stance, used ({by_side[side]})" in labels, labels
    (said,) = [t.get_text() for t in fig.axes[1].texts if t.get_gid() == "nothing"]
    assert said == f"too few steps\nfor a median\n({by_side['L']} L, {by_side['R']} R used)"


def test_the_final_step_count_says_which_steps_are_outside_every_task():
    """The straight walk's capture marks one walk ending before its last two steps: the
    view counts every step of the capture, the summary (and the report) those in the walk;
    the view says the difference rather than showing a count the report has not."""
    from pathlib import Path

    from sacrum.apps.live.headless import summary_lines

    straight = Path(__file__).parents[1] / "examples" / "mobgap_ha001_straight_walk.sacrum"
    s = make_session("replay", str(straight), speed=None)
    s.run_sync()
    snap = s.snapshot(20.0)
    doc = s.final_analysis
    outside = sum(d["task"] is None for d in doc["steps"])
    assert snap.final and outside >= 1
    assert snap.steps_total == len(doc["steps"]) == doc["summary"]["n_steps"] + outside
    assert snap.steps_outside == outside
    line = next(x for x in summary_lines(s, snap) if x.startswith("steps:"))
    assert line == (f"steps:     {snap.steps_total} ({doc['summary']['n_steps_used']} used in "
                    f"the summaries, {outside} outside every task)")


def test_a_replay_s_tasks_converge_on_the_capture_s_marks():
    """A replay applies each task mark at the packet that carries it, so while it runs the
    view's tasks start up to a packet after the marks' own times; once the data end the
    view shows the tasks where the analysis (and `sacrum info`, and the report) put them:
    the demo's six walks, at the capture's times."""
    s = make_session("replay", str(DEMO_CAPTURE), speed=None)
    s.run_sync()
    marks = decode_capture(DEMO_CAPTURE).tasks()
    assert len(marks) == 6
    live = s.view.tasks                       # as applied during the replay
    assert [x[0] for x in live] == [x[0] for x in marks]
    assert max(abs(a[1] - b[1]) for a, b in zip(live, marks, strict=True)) > 0.01
    snap = s.snapshot(60.0)
    assert snap.final
    assert len(snap.tasks) == len(marks)
    for (name, t0, t1), (m_name, m0, m1) in zip(snap.tasks, marks, strict=True):
        assert name == m_name and t0 == pytest.approx(m0, abs=1e-6)
        assert t1 == pytest.approx(m1, abs=1e-6)

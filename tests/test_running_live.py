"""The athlete's live mode for running (issue 17 items 3 and 4): a running phantom's capture
replayed through the live session (the running stages run beside the walking scorer:
``sacrum.scoring.running.LiveRunning``), its cues against the threshold, the cadence
metronome on a simulated clock, and the low-rate warning (docs/live.md, docs/running.md)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import sacrum
from sacrum.apps.live.cli import make_session
from sacrum.apps.live.running import Metronome, rate_banner, running_lines
from sacrum.scoring.running import LiveRunning, received_rate_ok
from sacrum.signal.angles import PelvicAngles
from sacrum.testing.generator import LinkModel, make_capture
from sacrum.testing.running_phantom import running_phantom
from streaming import assert_chunk_invariant, random_sizes

DROP_TOL_DEG = 0.5
#: Between the phantom's left (6°) and right (8.5°) stance drops: only right steps cue.
THRESHOLD_DEG = 7.25


def _phantom(rate_hz: int = 200, seed: int = 41):
    return running_phantom(rate_hz=rate_hz, seed=seed,
                           segments=(("walk", 6), ("run", 30), ("walk", 6)))


def _inputs(p):
    """The phantom as the live pipeline gives it: its orientation, angles from its standing."""
    pa = PelvicAngles(p["mount"], p["rate_hz"])
    pa.calibrate(p["q"][p["t"] < p["stand_s"] - 0.5])
    return [p["t"], p["acc"], p["q"], pa.update(p["q"])]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """The phantom as a capture (the generator's BLE model), replayed through the live
    session as `sacrum live --replay CAPTURE --mount recommended` runs it; the live running
    state just before the data end, and the session."""
    p = _phantom()
    cap = tmp_path_factory.mktemp("run") / "run.sacrum"
    make_capture(cap, p["q"], p["acc"], p["gyr"], 200, link=LinkModel(mtu=247), seed=2)
    session = make_session("replay", str(cap), speed=None, history_s=3600.0,
                           mount="recommended", threshold_deg=THRESHOLD_DEG)
    session.run_sync()
    # the live values (before the final analysis replaced them): the session's processor
    live = session.running_stage.state()
    return p, cap, session, live


def test_live_drops_converge_on_the_offline_analysis(replayed):
    _, cap, session, live = replayed
    final = session.snapshot().running
    assert final.final and not live.final
    off = sacrum.analyze(cap).running_steps
    # at the end the view shows the offline analysis' running steps: one answer
    assert [d for _, _, d, _ in final.steps] == pytest.approx(
        off["contralateral_drop_deg"].to_list(), nan_ok=True)
    assert [s for _, s, _, _ in final.steps] == off["stance_side"].to_list()
    # and the live per-step drops were those steps' within the phantom's drop tolerance
    # (the session's clock starts at the first packet, the capture's earlier: one offset)
    lt = np.array([t for t, *_ in live.steps])
    shift = float(np.median([off["t_ic_s"].iloc[0] - lt[0]]))
    n = 0
    for t, d in zip(off["t_ic_s"], off["contralateral_drop_deg"], strict=True):
        k = int(np.argmin(np.abs(lt + shift - t)))
        if abs(lt[k] + shift - t) < 0.01 and math.isfinite(d):
            assert abs(live.steps[k][2] - d) < DROP_TOL_DEG
            n += 1
    assert n >= 25


def test_a_cue_for_every_step_over_the_threshold_and_none_below(replayed):
    _, _, session, live = replayed
    over = {t for t, _, d, ex in live.steps if ex != "gap" and d > THRESHOLD_DEG}
    assert over and len(over) < len(live.steps)
    assert {c.t_ic_s for c in live.cues} == over
    assert all(c.drop_deg > THRESHOLD_DEG and c.side == "R" for c in live.cues)
    assert session.snapshot().running.cues == live.cues  # delivered as given


def test_cue_every_n_steps():
    p = _phantom(seed=42)
    every = LiveRunning(200.0, p["mount"], threshold_deg=THRESHOLD_DEG, cue_every=3)
    each = LiveRunning(200.0, p["mount"], threshold_deg=THRESHOLD_DEG)
    for proc in (every, each):
        proc.update(*_inputs(p))
        proc.flush()
    order = [m.t_ic_s for m in every.steps if math.isfinite(m.contralateral_drop_deg)]
    cued = [order.index(c.t_ic_s) for c in every.cues]
    assert len(cued) >= 3 and min(np.diff(cued)) >= 3
    # an over-threshold step is left without a cue only within 2 steps of the last cue
    for i, t in enumerate(order):
        m = next(x for x in every.steps if x.t_ic_s == t)
        if m.contralateral_drop_deg > THRESHOLD_DEG and i not in cued:
            assert any(0 < i - c < 3 for c in cued)
    assert len(every.cues) < len(each.cues)


def test_live_running_is_chunk_invariant():
    p = _phantom(seed=43)

    def make():
        return LiveRunning(200.0, p["mount"], threshold_deg=THRESHOLD_DEG)

    got = assert_chunk_invariant(make, _inputs(p), chunk_sizes=(3, 37, 400,
                                                               random_sizes(5, 1, 200)))
    assert sum(m.excluded is None for m in got) >= 20


def test_metronome_ticks_at_the_target_rate():
    """On a simulated clock polled every 1 ms for 60 s: one tick per beat, each at most one
    poll late; a stall of two beats is one tick, not a burst."""
    for spm in (150.0, 172.0, 180.0):
        m = Metronome(spm)
        poll_s, span_s = 0.001, 60.0
        for k in range(round(span_s / poll_s)):
            m.due(k * poll_s)
        period = 60.0 / spm
        assert len(m.ticks) == math.floor((span_s - poll_s) / period + 1e-9) + 1
        late = np.array(m.ticks) - period * np.arange(len(m.ticks))
        assert np.all((late >= -1e-9) & (late <= poll_s + 1e-9))
    m = Metronome(180.0)
    m.due(0.0)
    assert m.due(1.0) == 1 and m.skipped == 2          # three beats fell due in the stall
    assert m.due(1.0 + 60 / 180.0) == 1
    with pytest.raises(ValueError):
        Metronome(0.0)


def test_low_rate_warning_at_100_hz_and_none_at_200_hz(replayed):
    live = replayed[3]
    assert live.rate_ok and not rate_banner(live)
    assert not any(line.startswith("RATE") for line in running_lines(live, always=True))
    p = _phantom(rate_hz=100, seed=44)
    low = LiveRunning(100.0, p["mount"])
    low.update(*_inputs(p))
    state = low.state()
    assert state.steps                       # running is still found at 100 Hz, and said
    assert not state.rate_ok and rate_banner(state)
    assert any(line.startswith("RATE") for line in running_lines(state))
    # 200 Hz with a tenth of the samples lost is too little as well; 2 % lost is not
    assert not received_rate_ok(200.0, 180.0)[0] and received_rate_ok(200.0, 196.0)[0]
    lossy = LiveRunning(200.0, _phantom()["mount"])
    q = _phantom()
    t, acc, qq, ang = _inputs(q)
    acc = acc.copy()
    acc[::10] = np.nan
    lossy.update(t, acc, qq, ang)
    assert lossy.received_hz == pytest.approx(180.0, abs=1.0)
    assert not lossy.state().rate_ok


def test_the_athlete_view_shows_the_running_and_the_warning(replayed, monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtWidgets

    from sacrum.apps.live.athlete import AthleteView

    _app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    _, _, session, live = replayed
    snap = replace(session.snapshot(), running=live)
    view = AthleteView(cadence_target_spm=180.0)
    view.show_snapshot(snap, "sound off")
    assert view.banner.isHidden()
    for s in "LR":  # each side's newest running step's drop, as the state has it
        assert f"{live.last_drop_deg[s]:.1f}°" in view.drop[s].text()
    assert f"{live.cadence_spm:.0f} / 180" in view.score.text()
    low = replace(live, rate_hz=100.0, rate_ok=False, rate_message="100 Hz")
    view.show_snapshot(replace(snap, running=low), "sound off")
    assert not view.banner.isHidden()
    # walking at 100 Hz, no running yet: no alarm, one grey line of what running needs
    view.show_snapshot(replace(snap, running=replace(low, steps=[])), "sound off")
    assert view.banner.isHidden()
    assert "running metrics need 200 Hz; 100 Hz here" in view.cues.text()
    view.show_snapshot(replace(snap, running=replace(live, steps=[])), "sound off")
    assert "running metrics need" not in view.cues.text()


def test_a_mounting_with_forward_reversed_is_said():
    """The angles' mounting with forward and left reversed (as a walking estimate made on
    running can give it) is found by the running's own estimate and said; the right one is
    not."""
    from sacrum.signal.quaternion import quat_multiply

    p = _phantom(seed=45)
    yaw_180 = np.array([0.0, 0.0, 0.0, 1.0])          # 180° about the body's vertical
    reversed_mount = quat_multiply(yaw_180, p["mount"])
    t, acc, q, ang = _inputs(p)
    for mount, said in ((p["mount"], False), (reversed_mount, True)):
        live = LiveRunning(200.0, mount)
        live.update(t, acc, q, ang)
        assert live.running_mount is not None
        assert bool(live.state().mount_message) is said
        assert bool(rate_banner(live.state())) is said


def test_the_command_line_athlete_options(replayed, capsys, tmp_path, monkeypatch):
    """`sacrum live --headless --athlete` with the running options: the running lines, the
    cadence against its target, no rate warning at 200 Hz; a bad option is one line."""
    from cli_contract import run

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    cap = replayed[1]
    code, out, _ = run(capsys, "live", "--replay", str(cap), "--headless", "--athlete",
                       "--drop-threshold", str(THRESHOLD_DEG), "--cue-every", "2",
                       "--cadence-target", "176", "--mount", "recommended",
                       "--out-dir", str(tmp_path / "out"))
    lines = out.splitlines()
    assert any(x.startswith("run cadence") and "176" in x for x in lines)
    assert any(x.startswith("run cues") for x in lines)
    assert not any(x.startswith(("RATE", "MOUNT")) for x in lines)
    code, _, err = run(capsys, "live", "--replay", str(cap), "--headless", "--cue-every", "0",
                       "--out-dir", str(tmp_path / "bad"), ok_codes=(1,))
    assert code == 1 and len(err.strip().splitlines()) == 1


# -- issue 17's live remainders: the mounting, the walking cues and the time axis -----------


def _replay(tmp_path_factory, name: str, p, **options):
    cap = tmp_path_factory.mktemp(name) / f"{name}.sacrum"
    make_capture(cap, p["q"], p["acc"], p["gyr"], 200, link=LinkModel(mtu=247), seed=2)
    session = make_session("replay", str(cap), speed=None, history_s=3600.0,
                           threshold_deg=THRESHOLD_DEG, **options)
    session.run_sync()
    return cap, session


def _forward_deg(a, b) -> float:
    from sacrum.signal.quaternion import quat_conjugate, quat_rotate

    x = [quat_rotate(quat_conjugate(np.asarray(q, float)), np.array([1.0, 0.0, 0.0]))
         for q in (a, b)]
    return math.degrees(math.acos(float(np.clip(x[0] @ x[1], -1.0, 1.0))))


@pytest.fixture(scope="module")
def unmounted(tmp_path_factory):
    """The running phantom with the sensor turned 180° about the vertical on its belt (an
    unknown mounting, forward the other way round from the recommended one), replayed as
    `sacrum live --replay CAPTURE` runs it without --mount."""
    from sacrum.signal.quaternion import quat_multiply

    yaw_180 = np.array([0.0, 0.0, 0.0, 1.0])
    p = running_phantom(rate_hz=200, seed=41, segments=(("walk", 6), ("run", 30), ("walk", 6)),
                        mount=quat_multiply(_phantom()["mount"], yaw_180))
    cap, session = _replay(tmp_path_factory, "unmounted", p)
    return p, cap, session


def test_without_a_mount_the_live_running_has_forward_right(unmounted):
    """The walking estimator does not learn from the running (it took running for walking
    and reversed forward); the running's own estimate is the mounting once it has one, and
    the running steps so far are measured again in it: every live step's drop is the final
    analysis' within the phantom's tolerance, and the sides' medians the phantom's."""
    p, _, session = unmounted
    assert session.final_analysis is not None
    assert _forward_deg(session.scorer.q_sensor_to_body, p["mount"]) < 15.0
    live = session.running_stage.state()
    assert not live.mount_message and not live.final
    for side, truth in zip("LR", (6.0, 8.5), strict=True):
        assert abs(live.drop_deg[side] - truth) < DROP_TOL_DEG
    final = {round(r["t_ic"], 3): r for r in session.final_analysis["running_steps"]}
    matched = 0
    for t, side, drop, _ in live.steps:
        r = final.get(round(t, 3))
        if r is not None and r["contralateral_drop_deg"] is not None and math.isfinite(drop):
            assert r["stance_side"] == side
            assert abs(drop - r["contralateral_drop_deg"]) < DROP_TOL_DEG
            matched += 1
    assert matched >= 25


def test_walking_cues_only_while_walking_and_running_cues_only_while_running(tmp_path_factory):
    """Walk → run → walk with a walking drop over the threshold: the walking scorer's cues in
    the walking parts only (its steps in the running do not cue: the athlete's running cue
    is given there; before, three of them did), the running cues in the running only, and
    the walk after the run cues again (before, the walking steps after 60 running ones were
    all irregular: the step-time median was still the running's; StepMetricsStream's
    retempo_steps)."""
    p = running_phantom(rate_hz=200, seed=44, segments=(("walk", 16), ("run", 60), ("walk", 16)),
                        walk_drop_deg=(8.0, 8.0))
    _, session = _replay(tmp_path_factory, "mixed", p, mount="recommended")
    run = [r["t_ic"] for r in session.final_analysis["running_steps"]]
    t_a, t_b = min(run), max(run) + 60.0 / p["cadence_spm"]
    snap = session.snapshot()
    walking = [c.t_ic_s for c in snap.cues]
    assert len([t for t in walking if t < t_a]) >= 10
    assert not [t for t in walking if t_a - 0.05 <= t <= t_b]
    assert len([t for t in walking if t > t_b]) >= 5
    running = [c.t_ic_s for c in snap.running.cues]
    assert running and all(t_a <= t <= t_b for t in running)


def test_the_run_gate_marks_the_running_only_and_is_chunk_invariant():
    """RunGate on walk → run → walk: every sample from the first running flight to the last
    running contact is running, no walking sample more than its hold after the run is, in
    any chunking."""
    from sacrum.apps.live.running import RunGate

    p = _phantom(seed=46)
    (_, _, _), (_, t_a, t_b), _ = p["segments"]
    got = assert_chunk_invariant(lambda: RunGate(200.0), [p["t"], p["acc"]],
                                 chunk_sizes=(1, 8, 37, random_sizes(6, 1, 300)))
    gate = RunGate(200.0)
    gate.update(p["t"], p["acc"])
    t = p["t"]
    assert got[(t > t_a + 0.35) & (t < t_b)].all()        # after the first flight
    assert not got[(t < t_a) | (t > t_b + gate.hold_s)].any()
    assert len(gate.spans) == 1 and gate.overlaps(t_a, t_a + 0.5)
    assert not gate.overlaps(t_b + gate.hold_s + 0.01, t_b + 5.0)


def test_live_and_final_steps_on_one_time_axis(replayed):
    """The session's samples are on the capture's time, as `sacrum analyze` reads it: its first
    sample at the analysis' first, and each running step live at the time the final
    analysis has it."""
    _, cap, session, live = replayed
    snap = session.snapshot(session.history_s)
    assert snap.t_s[0] == pytest.approx(sacrum.load(cap).t_s[0], abs=1e-6)
    lt = np.array([t for t, *_ in live.steps])
    off = sacrum.analyze(cap).running_steps["t_ic_s"].to_numpy()
    assert len(off) >= 25
    assert max(float(np.min(np.abs(lt - t))) for t in off) < 1e-3


def test_the_running_cue_and_colours_follow_the_running_band_not_walking(monkeypatch):
    """Without --drop-threshold a running step cues over the running drop band's normal
    edge (running_bands.toml), not the walking band's; the athlete view colours a running
    drop between the two edges as outside the running normal band."""
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtWidgets

    from sacrum.apps.live.athlete import AthleteView
    from sacrum.apps.live.bars import band_word, drop_bands
    from sacrum.apps.live.running import RunningFeed
    from sacrum.scoring.livescore import LiveScorer
    from sacrum.scoring.running import load_running_bands
    from sacrum.scoring.score import load_bands

    run_edge = max(b.normal_max for b in drop_bands(load_running_bands()).values())
    walk_edge = max(b.normal_max for b in drop_bands(load_bands()).values())
    assert run_edge < walk_edge
    from sacrum.signal.mounting import parse_mount

    _app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    scorer = LiveScorer(200.0, parse_mount("recommended"))
    feed = RunningFeed(200.0, scorer, None, 1)
    assert feed.stage.threshold_deg == pytest.approx(run_edge)
    assert RunningFeed(200.0, scorer, 9.5, 1).stage.threshold_deg == 9.5
    view = AthleteView()
    between = (run_edge + walk_edge) / 2
    assert band_word(between, view.run_bands["L"]) != "normal"
    assert band_word(between, view.bands["L"]) == "normal"

"""sacrum.scoring.livescore: the live scorer on the pelvis-motion phantom of tests/test_metrics.py.

The phantom stands 3 s (the automatic standing calibration), then walks with a known
contralateral drop per stance side (4° left, 9° right, ±0.5° from step to step) and
stands again; a sensor in the recommended mounting, with noise and biases, through the
whole live path (causal orientation filter, calibration, heading, gait events).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sacrum.scoring.livescore import LiveScorer
from sacrum.scoring.metrics import StepMetrics, is_scored
from sacrum.scoring.score import load_bands
from sacrum.signal.gait import Turn
from sacrum.signal.mounting import parse_mount
from sacrum.testing.walking_phantom import walking_phantom as phantom
from streaming import bounds, feed

RATE = 100.0
RECOMMENDED = parse_mount("recommended")

GAIT_LATENCY_S = 0.52  # the gait stage's longest IC latency at 100 Hz (sacrum.signal.gait)


@pytest.fixture(scope="module")
def walk() -> dict:
    return phantom(n_steps=60)


def _feed(ph: dict, sizes, **params) -> tuple[LiveScorer, list]:
    """Feed the phantom in chunks of the given sizes (cycled); (scorer, [(t_end, update)])."""
    ls = LiveScorer(RATE, RECOMMENDED, **params)
    ends = [float(ph["t"][b - 1]) for _, b in bounds(len(ph["t"]), sizes)]
    updates = feed(ls, (ph["t"], ph["acc"], ph["gyr"]), sizes)
    return ls, list(zip([*ends, float(ph["t"][-1])], updates, strict=True))


@pytest.fixture(scope="module")
def whole(walk):
    return _feed(walk, [len(walk["t"])])


@pytest.fixture(scope="module")
def notifications(walk):
    """11-sample chunks, as the device's notifications bring them."""
    return _feed(walk, [11])


def _same_steps(a: list[StepMetrics], b: list[StepMetrics]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.stance_side, x.excluded, x.bout) == (y.stance_side, y.excluded, y.bout)
        for name in ("t_ic_s", "step_time_s", "stride_time_s", "contralateral_drop_deg",
                     "drop_time_pct", "obliquity_rom_deg", "tilt_rom_deg", "rotation_rom_deg",
                     "mean_tilt_deg"):
            assert getattr(x, name) == pytest.approx(getattr(y, name), abs=1e-9, nan_ok=True)


def test_whole_or_random_chunks_give_the_same_steps_and_scores(walk, whole, notifications):
    ls_whole, out_whole = whole
    rng = np.random.default_rng(5)
    # random sizes, empty chunks among them (a notification may carry no sample)
    for ls, out in (notifications, _feed(walk, [0, *rng.integers(0, 400, 50)])):
        _same_steps(ls.steps, ls_whole.steps)
        _same_steps([s for _, u in out for s in u.steps], ls.steps)   # no late turns here
        cues = [c for _, u in out for c in u.cues]
        assert cues == [c for _, u in out_whole for c in u.cues]
        assert ls.session_score().score == pytest.approx(ls_whole.session_score().score)
        assert out[-1][1].score.score == pytest.approx(out_whole[-1][1].score.score)
        assert (ls.summary.contralateral_drop_deg
                == pytest.approx(ls_whole.summary.contralateral_drop_deg))
    assert len(ls_whole.steps) == 60


def test_steps_come_within_one_stride_plus_the_gait_latency(notifications):
    _, out = notifications
    lags = [t_end - (s.t_ic_s + s.stride_time_s) for t_end, u in out[:-1] for s in u.steps
            if math.isfinite(s.stride_time_s)]
    assert len(lags) >= 55
    assert max(lags) <= GAIT_LATENCY_S + 11 / RATE


def test_cues_fire_on_steps_above_the_threshold_only(walk, notifications):
    ls, out = notifications
    assert ls.threshold_deg == {"L": 7.0, "R": 7.0}       # the bands' drop normal limit
    pairs = [(s, c) for _, u in out for s, c in zip(u.steps, u.cues, strict=True)]
    assert len(pairs) == 60
    for s, c in pairs:   # only a step the score counts may cue
        assert c == (ls.cue_allowed(s) and s.contralateral_drop_deg > 7.0)
        assert not c or is_scored(s)
    # the phantom: 9° drops in right stance, 4° in left stance
    assert all(c for s, c in pairs if s.stance_side == "R" and ls.cue_allowed(s))
    assert not any(c for s, c in pairs if s.stance_side == "L")
    # a threshold of one's own, per side
    _, out2 = _feed(walk, [len(walk["t"])], threshold_deg={"L": 3.0, "R": 20.0})
    pairs2 = [(s, c) for _, u in out2 for s, c in zip(u.steps, u.cues, strict=True)]
    assert all(c == (s.stance_side == "L" and ls.cue_allowed(s)) for s, c in pairs2)


def test_rolling_summary_recovers_the_known_drop_per_side(walk, notifications):
    _, out = notifications
    emitted: list[StepMetrics] = []
    n_scored = 0
    for _, u in out:
        emitted += u.steps
        if not (u.updated and u.score is not None and u.score.score is not None):
            continue
        n_scored += 1
        s = u.summary
        need = load_bands().min_steps_per_side
        assert all(need <= s.n_steps_by_side[side] <= 10 for side in "LR")
        lo, hi = u.score.interval      # computed live, on the window's steps
        assert lo <= u.score.score <= hi
        for side in "LR":   # the phantom's drops of the window's last used steps per side
            n = s.n_steps_by_side[side]
            window = [x for x in emitted if x.excluded is None and x.stance_side == side][-n:]
            k = [int(np.argmin(np.abs(walk["t_ic"] - x.t_ic_s))) for x in window]
            known = float(np.median(walk["drop"][k]))
            assert abs(known - {"L": 4.0, "R": 9.0}[side]) < 1.0
            assert s.contralateral_drop_deg[side] == pytest.approx(known, abs=0.5)
    assert n_scored >= 30                  # a score every step once there are enough


def test_too_few_steps_no_score_and_says_why():
    ph = phantom(n_steps=9)
    ls, out = _feed(ph, [11])
    final = out[-1][1]
    assert final.score is not None and final.score.score is None
    need = load_bands().min_steps_per_side
    assert str(need) in final.score.message and final.message == final.score.message
    assert ls.session_score().score is None
    # before the first step: no summary, no score, a message
    first = out[0][1]
    assert first.summary is None and first.score is None and first.message


def test_a_turn_known_late_re_marks_its_steps(whole):
    ls_whole, _ = whole
    ls = LiveScorer(RATE, RECOMMENDED)
    ls.steps = list(ls_whole.steps)
    t0 = ls.steps[30].t_ic_s
    ls.pipeline.gait.turns.append(Turn(t0 + 0.1, t0 + 1.0, 90.0, 60.0))
    # the next update, even an empty chunk, sees the turn and re-marks the steps it holds
    out = ls.update(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))
    assert out.updated and not out.steps
    marked = [s for s in ls.steps if s.excluded == "turn"]
    # the turn overlaps the steps from the one it starts in to the one it ends in (two or
    # three); the used step before them keeps its step but loses its stride
    assert 2 <= len(marked) <= 3
    assert all(s.t_ic_s <= t0 + 1.0 and s.t_ic_s + s.step_time_s >= t0 + 0.1 for s in marked)
    before = [s for s in ls.steps if s.t_ic_s < t0 and s.t_ic_s + s.stride_time_s > t0 + 0.1]
    assert not before                                 # no used stride overlaps the turn
    lost = [s for s in ls.steps if s.excluded is None and math.isnan(s.stride_time_s)
            and t0 - 1.5 < s.t_ic_s < t0]
    assert lost and all(math.isnan(s.obliquity_rom_deg) for s in lost)
    assert ls.session_summary().excluded_reasons.get("turn") == len(marked)


def test_bad_parameters_say_what_to_do():
    with pytest.raises(ValueError, match="window_steps"):
        LiveScorer(RATE, RECOMMENDED, window_steps=1)
    with pytest.raises(ValueError, match="missing R"):
        LiveScorer(RATE, RECOMMENDED, threshold_deg={"L": 5.0})


def test_keep_s_bounds_the_samples_and_says_what_the_session_summary_covers():
    """A long walk fed live with keep_s = 20 s: the kept samples stay under 1.5 × 20 s
    whatever the length, the rolling summaries are those of the unbounded scorer (their
    window is shorter than 20 s), and the session summary covers the last 20 s only and
    says so."""
    ph = phantom(n_steps=140, seed=4)
    full = LiveScorer(RATE, RECOMMENDED)
    kept = LiveScorer(RATE, RECOMMENDED, keep_s=20.0)
    n = 50
    peak = 0
    for i in range(0, len(ph["t"]), n):
        a = full.update(ph["t"][i:i + n], ph["acc"][i:i + n], ph["gyr"][i:i + n])
        b = kept.update(ph["t"][i:i + n], ph["acc"][i:i + n], ph["gyr"][i:i + n])
        peak = max(peak, kept._samples.n)
        assert (a.score.score if a.score else None) == (b.score.score if b.score else None)
        if a.summary is not None:
            assert b.summary.contralateral_drop_deg == pytest.approx(
                a.summary.contralateral_drop_deg, nan_ok=True)
    assert full._samples.n == len(ph["t"]) and peak <= 1.5 * 20.0 * RATE
    whole = kept.session_summary()
    assert any("last 20 s" in m for m in whole.messages)
    assert whole.n_steps_used < full.session_summary().n_steps_used


def _tilted_mount(deg: float) -> np.ndarray:
    """The recommended mounting turned ``deg`` about the sensor's x axis (a sensor clipped
    on a belt that sits at an angle: IPOL 3-x are about 60° from the recommended one)."""
    from sacrum.signal.quaternion import quat_multiply

    h = math.radians(deg) / 2
    return quat_multiply(RECOMMENDED, np.array([math.cos(h), math.sin(h), 0.0, 0.0]))


@pytest.fixture(scope="module")
def tilted():
    return phantom(n_steps=40, mount=_tilted_mount(50.0), seed=3)


def test_the_mounting_estimated_live_scores_the_steps_so_far_again(tilted):
    """Step 0: in the recommended mounting's frame a sensor turned 50° gives wrong drops;
    estimated from the stream, the mounting is the offline estimate's, every step is scored
    again with it (the same steps as a scorer given that mounting from the start, in any
    chunking), and nothing is shown (summary, score, cue) before the estimate."""
    from sacrum.signal.mounting import estimate_mounting
    from sacrum.signal.orientation import orientation_offline
    from sacrum.signal.quaternion import quat_angle_rad

    ph = tilted

    def run(mount, sizes, **kw):
        ls = LiveScorer(RATE, mount, **kw)
        return ls, feed(ls, (ph["t"], ph["acc"], ph["gyr"]), sizes)

    offline = estimate_mounting(orientation_offline(ph["acc"], ph["gyr"], RATE), ph["acc"],
                                ph["gyr"], RATE)
    truth, _ = run(_tilted_mount(50.0), [len(ph["t"])])
    wrong, _ = run(RECOMMENDED, [len(ph["t"])])
    t, w = truth.session_summary(), wrong.session_summary()
    # without the estimate the frame is wrong (the test can fail)
    assert any(not abs(w.contralateral_drop_deg[side] - t.contralateral_drop_deg[side]) < 1.0
               for side in "LR")
    for sizes in ([11], [len(ph["t"])]):
        live, out = run(RECOMMENDED, sizes, estimate_mounting=True)
        assert live.mounting is not None and not live.mounting_pending
        assert any(u.rescored for u in out)
        assert math.degrees(float(quat_angle_rad(live.mounting.q_sensor_to_body,
                                                 offline.q_sensor_to_body))) < 1.0
        for u in out:
            if u.summary is None:
                assert not any(u.cues) and u.score is None and u.message
        if sizes == [11]:   # the first steps came before the estimate: not shown
            assert any(u.steps and u.summary is None for u in out)
        given, _ = run(live.q_sensor_to_body, [len(ph["t"])])
        _same_steps(live.steps, given.steps)
        s = live.session_summary()
        for side in "LR":
            assert s.contralateral_drop_deg[side] == pytest.approx(
                given.session_summary().contralateral_drop_deg[side], abs=1e-9)
            # the estimate's own error (offline too: 12.6° on this phantom) costs < 1°
            assert s.contralateral_drop_deg[side] == pytest.approx(
                t.contralateral_drop_deg[side], abs=1.0)


def test_without_standing_the_zero_is_the_walking_mean_once_there_are_strides():
    """Step 1b: no quiet standing (the walk starts at once): no drops, score or cue until
    the used strides give the walking zero, then every step scored again from it; fed
    whole or in notifications, the same steps; at the end the zero is the walking one."""
    ph = phantom(n_steps=40, stand_s=0.0, end_s=0.5, seed=5)
    runs = []
    for sizes in ([11], [len(ph["t"])]):
        ls = LiveScorer(RATE, RECOMMENDED, walking_zero=True)
        out = feed(ls, (ph["t"], ph["acc"], ph["gyr"]), sizes)
        assert ls.pipeline.calibration is not None
        assert ls.pipeline.calibration.reference == "walking"
        for u in out:
            if u.summary is None:
                assert not any(u.cues) and u.score is None and u.message
        assert any(u.rescored for u in out)
        runs.append(ls)
    assert any(u.steps and u.summary is None for u in feed(
        LiveScorer(RATE, RECOMMENDED, walking_zero=True), (ph["t"], ph["acc"], ph["gyr"]), [11]))
    a, b = runs
    assert len(a.steps) == len(b.steps) > 30
    # the walking mean of an asymmetric gait is not level (4° and 9° drops: about 1.3° of
    # obliquity, which this zero takes for static, as the offline one does); an obliquity
    # zero moves the two sides' drops in opposite directions, their sum stays the phantom's
    d = a.session_summary().contralateral_drop_deg
    assert d["L"] + d["R"] == pytest.approx(13.0, abs=1.0)
    assert b.session_summary().contralateral_drop_deg == pytest.approx(d, abs=0.05)

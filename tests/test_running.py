"""Running: events (sacrum.signal.running), metrics and score (sacrum.scoring.running) against
the running phantom (sacrum.testing.running_phantom), offline, streamed in chunks, and once
through the firmware in the loop (docs/running.md, "Validation")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sacrum.io.decode import decode_capture
from sacrum.scoring.metrics import robust_range
from sacrum.scoring.running import (
    RunningMetricsStream,
    RunningStepMetrics,
    bootstrap_run_statistics,
    load_running_bands,
    running_step_metrics,
    score_run,
    summarize_run,
)
from sacrum.signal.angles import PelvicAngles
from sacrum.signal.mounting import MOUNTINGS, parse_mount
from sacrum.signal.orientation import orientation_offline
from sacrum.signal.quaternion import quat_conjugate, quat_rotate
from sacrum.signal.running import (
    RunningEventDetector,
    detect_running,
    estimate_running_mount,
    level_acceleration,
    running_rate_ok,
)
from sacrum.testing.running_phantom import running_phantom
from sacrum.testing.simulate import simulate
from sacrum.testing.walking_phantom import walking_phantom
from streaming import Same, assert_chunk_invariant, random_sizes

DROP_TOL_DEG = 0.5
CADENCE_TOL_SPM = 1.0
CONTACT_TOL_S = 0.015
VO_TOL_M = 0.01
ROM_TOL_DEG = 1.0       # the ranges: within the fusion's inclination error (docs/pelvic-angles.md)


def analyse(p, q=None, t=None, acc=None, rate=None):
    """The running stages on a phantom (or on what came back from the firmware)."""
    rate = rate or p["rate_hz"]
    t = p["t"] if t is None else t
    acc = p["acc"] if acc is None else acc
    q = orientation_offline(acc, p["gyr"], rate) if q is None else q
    angles = PelvicAngles(p["mount"], rate)
    angles.calibrate(q[t < p["stand_s"] - 0.5])
    ang = angles.update(q)
    steps, bouts = detect_running(t, acc, q, p["mount"], rate)
    metrics = running_step_metrics(t, ang, level_acceleration(q, acc, p["mount"]), steps)
    return steps, bouts, metrics


def truth_index(p, t_ic_s):
    k = int(np.argmin(np.abs(p["t_ic"] - t_ic_s)))
    return k, abs(p["t_ic"][k] - t_ic_s)


def check_against_truth(p, steps, metrics, *, min_steps_per_side=10, lost_steps=0):
    """Every used step matches a phantom contact: side, drop, contact, flight, oscillation;
    the per-side medians and the cadence within the issue's tolerances."""
    used = [m for m in metrics if m.excluded is None]
    n_run = int(np.sum(p["modes"] == "run"))
    # at most the bout's edges (and the steps lost in a gap) left out
    assert len(used) >= n_run - 4 - lost_steps
    for m in used:
        k, dt = truth_index(p, m.t_ic_s)
        assert dt < CONTACT_TOL_S / 2, f"IC at {m.t_ic_s:.3f} s is {dt * 1e3:.0f} ms off"
        assert p["modes"][k] == "run"
        assert m.stance_side == p["sides"][k]
        assert abs(m.contralateral_drop_deg - p["drop"][k]) < DROP_TOL_DEG
        assert abs(m.contact_time_s - p["contact_s"][k]) < CONTACT_TOL_S
        assert abs(m.flight_time_s - p["flight_s"][k]) < CONTACT_TOL_S
        assert abs(m.vertical_oscillation_m - p["vo_m"][k]) < VO_TOL_M
    for m in used:                      # the ranges: the truth's over the same stride
        k, _ = truth_index(p, m.t_ic_s)
        if math.isnan(m.obliquity_rom_deg) or k + 2 >= len(p["t_ic"]):
            continue
        span = (p["t"] >= p["t_ic"][k]) & (p["t"] <= p["t_ic"][k + 2])
        true = np.degrees(p["angles"][span])
        for col, got in enumerate((m.tilt_rom_deg, m.obliquity_rom_deg, m.rotation_rom_deg)):
            assert abs(got - robust_range(true[:, col])) < ROM_TOL_DEG, (col, got)
    s = summarize_run(metrics, min_steps_per_side=min_steps_per_side)
    run = p["modes"] == "run"
    for sd in "LR":
        want = float(np.median(p["drop"][run & (p["sides"] == sd)]))
        assert abs(s.contralateral_drop_deg[sd] - want) < DROP_TOL_DEG
    # the cadence of the phantom's running steps (their median step time, as summarised)
    assert abs(s.cadence_spm - 60.0 / float(np.median(p["t_step"][run]))) < CADENCE_TOL_SPM
    return s


@pytest.mark.parametrize("speed_mps, cadence_spm", [(2.5, None), (3.5, None), (5.0, None),
                                                    (3.0, 140.0), (4.5, 210.0)])
def test_phantom_running_speeds_and_cadences(speed_mps, cadence_spm):
    p = running_phantom(speed_mps=speed_mps, cadence_spm=cadence_spm, seed=int(speed_mps * 10))
    steps, bouts, metrics = analyse(p)
    check_against_truth(p, steps, metrics)
    assert [b.mode for b in bouts] == ["walk", "run", "walk"]


@pytest.mark.parametrize("mount", [*MOUNTINGS, "x=forward,y=left", "y=up,z=left"])
def test_phantom_in_each_mounting(mount):
    p = running_phantom(mount=parse_mount(mount), segments=(("walk", 6), ("run", 40),
                                                            ("walk", 6)), seed=3)
    steps, _, metrics = analyse(p)
    check_against_truth(p, steps, metrics)


def test_hard_landings_noise_and_a_bouncing_sensor():
    """A 2.5-g impact transient, four times the accelerometer noise, and the sensor bouncing on
    its belt after each toe-off (0.4 g at 12 Hz): still within the tolerances at 200 Hz."""
    p = running_phantom(impact_mps2=25.0, acc_noise_mps2=0.2, bounce_mps2=4.0, seed=21)
    steps, _, metrics = analyse(p)
    check_against_truth(p, steps, metrics)


@pytest.mark.parametrize("mount", ["recommended", "mobilise-d-examples", "y=up,z=left"])
def test_mounting_found_from_the_running(mount):
    """Without a mounting: events with any mounting (they do not depend on it), the forward
    axis from the contacts' braking, then the whole analysis on that estimate."""
    p = running_phantom(mount=parse_mount(mount), seed=3, heading_rate_dps=5.0)
    q = orientation_offline(p["acc"], p["gyr"], 200.0)
    first, _ = detect_running(p["t"], p["acc"], q, parse_mount("recommended"), 200.0)
    est = estimate_running_mount(p["t"], p["acc"], q, first)
    up = quat_rotate(quat_conjugate(p["mount"]), np.array([0.0, 0.0, 1.0]))
    fwd_true = quat_rotate(quat_conjugate(p["mount"]), np.array([1.0, 0.0, 0.0]))
    fwd = quat_rotate(quat_conjugate(est), np.array([1.0, 0.0, 0.0]))
    fwd = fwd - (fwd @ up) * up
    azimuth = math.degrees(math.atan2(np.cross(fwd_true, fwd) @ up, fwd_true @ fwd))
    assert abs(azimuth) < 2.0
    steps, _, metrics = analyse({**p, "mount": est}, q=q)
    check_against_truth(p, steps, metrics)
    with pytest.raises(ValueError):
        estimate_running_mount(p["t"], p["acc"], q, first[:10])


def test_overground_on_a_curve():
    """Overground the direction of travel turns (a 400-m track's bend: about 10°/s at 4 m/s);
    the level frame follows the pelvis, so nothing changes."""
    p = running_phantom(heading_rate_dps=10.0, speed_mps=4.0, seed=5)
    steps, _, metrics = analyse(p)
    check_against_truth(p, steps, metrics)


def test_walk_run_walk_transitions_are_found():
    p = running_phantom(segments=(("walk", 10), ("run", 30), ("walk", 12), ("run", 30),
                                  ("walk", 8)), seed=7)
    steps, bouts, _ = analyse(p)
    assert [b.mode for b in bouts] == ["walk", "run", "walk", "run", "walk"]
    for b, (mode, t0, _) in zip(bouts[1:], p["segments"][1:], strict=True):
        # a step runs when a flight comes before its contact: the first contact of a running
        # segment follows a walking step, and the first of a walking one a flight, so either
        # bout starts at its segment's second contact: one step late
        one_step = 60.0 / (p["cadence_spm"] if mode == "run" else 110.0)
        assert t0 - 0.05 <= b.t_start_s <= t0 + one_step + 0.05, (mode, t0, b)
    runs = [s for s in steps if s.mode == "run"]
    walks = [s for s in steps if s.mode == "walk"]
    assert all(s.side in "LR" and s.side for s in runs)
    assert all(s.side == "" and math.isnan(s.contact_s) for s in walks)
    # the phantom's lean changes over a step, not in one sample: a 4° step of tilt put a
    # 14 rad/s spike on its gyroscope at every transition (largest turn rate: the yaw swing)
    tilt = np.rad2deg(p["angles"][:, 0])
    assert np.abs(np.diff(tilt)).max() < 0.5
    assert np.abs(p["gyr"]).max() < 4.0


def test_walking_alone_has_no_running_steps():
    p = walking_phantom(rate_hz=200.0, n_steps=40, seed=2)
    q = orientation_offline(p["acc"], p["gyr"], 200.0)
    steps, bouts = detect_running(p["t"], p["acc"], q, parse_mount("recommended"), 200.0)
    assert steps and all(s.mode == "walk" for s in steps)
    assert [b.mode for b in bouts] == ["walk"]


def test_lost_samples_end_the_chain_and_no_step_spans_them():
    p = running_phantom(segments=(("walk", 6), ("run", 50), ("walk", 6)), seed=9)
    acc = p["acc"].copy()
    gap = (p["t"] > 14.0) & (p["t"] < 14.4)
    acc[gap] = np.nan
    q = orientation_offline(p["acc"], p["gyr"], 200.0)
    q[gap] = np.nan
    steps, _, metrics = analyse(p, q=q, acc=acc)
    for s in steps:
        end = s.t_next_ic_s if not math.isnan(s.t_next_ic_s) else s.t_ic_s
        assert not (s.t_ic_s < 14.4 and end > 14.0)
    assert any(s.t_ic_s > 14.4 and s.mode == "run" for s in steps)
    # 0.4 s of loss: the one or two steps in it, the one before (no next contact) and the
    # first after (a new bout's edge)
    check_against_truth(p, steps, metrics, lost_steps=4)


def test_score_is_lower_for_a_one_sided_drop():
    level = summarize_run(analyse(running_phantom(drop_deg=(5.0, 5.0), seed=1))[2])
    one_sided = summarize_run(analyse(running_phantom(drop_deg=(5.0, 10.5), seed=1))[2])
    a, b = score_run(level), score_run(one_sided)
    assert a.score is not None and b.score is not None
    assert b.score < a.score
    assert b.components["drop"].score_0_100 < a.components["drop"].score_0_100
    assert b.components["drop"].value["right"] > b.components["drop"].value["left"]


@pytest.fixture(scope="module")
def long_run():
    """124 running steps (no walking): their metrics, for the score's interval."""
    return analyse(running_phantom(segments=(("run", 124),), seed=5))[2]


def _scored(metrics):
    bands = load_running_bands()
    summ = summarize_run(metrics, min_steps_per_side=bands.min_steps_per_side)
    return score_run(summ, bands, steps=metrics), bands


def test_score_interval_narrows_with_more_steps(long_run):
    """The interval is a bootstrap over the running steps: the first 22 steps of a run give
    a wider one than the first 120 of the same run; each holds its score; the same steps
    give the same interval (a seeded resampling)."""
    few, _ = _scored(long_run[:24])
    many, _ = _scored(long_run[:122])
    for ts in (few, many):
        assert ts.score is not None and ts.interval is not None
        assert ts.interval[0] <= ts.score <= ts.interval[1]
    width = [ts.interval[1] - ts.interval[0] for ts in (few, many)]
    assert width[0] > 1.5 * width[1] > 0
    assert _scored(long_run[:122])[0].interval == many.interval
    # the drop component (resampled) has its own interval, inside the 0-100 points
    lo, hi = many.components["drop"].interval
    assert 0 <= lo <= many.components["drop"].score_0_100 <= hi <= 100


def test_score_is_withheld_with_too_few_steps(long_run):
    """Fewer used steps per side than the bands' minimum: no score, no interval, a reason."""
    ts, bands = _scored(long_run[:12])
    assert 0 < min(ts.n_steps_by_side.values()) < bands.min_steps_per_side
    assert ts.score is None and ts.interval is None and ts.message


def test_score_is_withheld_when_its_interval_is_too_wide():
    """25 steps whose drops scatter by 4° (SD): enough steps, but the score could be
    anywhere over more than the bands' widest interval: withheld, the interval kept."""
    m = analyse(running_phantom(segments=(("run", 26),), seed=6, drop_sd_deg=4.0,
                                drop_deg=(6.0, 7.0)))[2]
    ts, bands = _scored(m)
    assert min(ts.n_steps_by_side.values()) >= bands.min_steps_per_side
    assert ts.score is None and ts.interval is not None
    assert ts.interval[1] - ts.interval[0] > bands.interval.max_width_points
    assert ts.message
    # the same steps with the SD of the default phantom are scored
    m2 = analyse(running_phantom(segments=(("run", 26),), seed=6, drop_deg=(6.0, 7.0)))[2]
    assert _scored(m2)[0].score is not None


def test_summary_is_the_bootstrap_statistics_of_the_steps_themselves(long_run):
    """One computation: the summary's values are run_step_statistics of the used steps, and
    every bootstrap resample has each side's count of steps."""
    s = summarize_run(long_run, min_steps_per_side=10)
    used = [m for m in long_run if m.excluded is None]
    for sd in "LR":
        drops = [m.contralateral_drop_deg for m in used if m.stance_side == sd]
        assert s.contralateral_drop_deg[sd] == pytest.approx(float(np.median(drops)))
        assert s.contralateral_drop_sd_deg[sd] == pytest.approx(float(np.std(drops, ddof=1)))
    steps = [m.step_time_s for m in used]
    assert s.variability["step_time_cv_pct"] == pytest.approx(
        100 * float(np.std(steps, ddof=1) / np.mean(steps)))
    reps = bootstrap_run_statistics(long_run, n_boot=200, seed=1, min_steps_per_side=10)
    assert reps["contralateral_drop_deg.L"].shape == (200,)
    assert np.isfinite(reps["variability.drop_sd_deg"]).all()
    lo, hi = np.percentile(reps["contralateral_drop_deg.R"], [5, 95])
    assert lo <= s.contralateral_drop_deg["R"] <= hi


@pytest.mark.parametrize("gap", [False, True])
def test_detector_is_chunk_invariant(gap):
    p = running_phantom(segments=(("walk", 6), ("run", 24), ("walk", 6), ("run", 8)), seed=11)
    q = orientation_offline(p["acc"], p["gyr"], 200.0)
    acc = p["acc"].copy()
    if gap:                                     # lost samples in a flight, then in a contact
        for t0 in (9.0, 12.13):
            lost = (p["t"] >= t0) & (p["t"] < t0 + 0.03)
            acc[lost], q[lost] = np.nan, np.nan

    def make():
        return RunningEventDetector(200.0, p["mount"])

    steps = assert_chunk_invariant(make, [p["t"], acc, Same(None), q],
                                   chunk_sizes=(1, 7, (1, 37, 0, 250), 1000,
                                                random_sizes(3, 1, 120)))
    assert sum(s.mode == "run" for s in steps) >= 20


class _MetricsFed:
    """The metrics stream with the detector's steps delivered at the sample where the
    detector returned them (a per-sample column of lists), as the live pipeline feeds it."""

    def __init__(self):
        self.stream = RunningMetricsStream()

    def update(self, t, ang, acc, rows):
        return self.stream.update(t, ang, acc, [s for row in rows for s in row])

    def flush(self):
        return self.stream.flush()

    def reset(self):
        self.stream.reset()


def test_metrics_stream_is_chunk_invariant():
    p = running_phantom(segments=(("walk", 6), ("run", 30), ("walk", 6)), seed=12)
    q = orientation_offline(p["acc"], p["gyr"], 200.0)
    pa = PelvicAngles(p["mount"], 200.0)
    pa.calibrate(q[p["t"] < 2.5])
    ang = pa.update(q)
    lev = level_acceleration(q, p["acc"], p["mount"])
    det = RunningEventDetector(200.0, p["mount"])
    rows = np.empty(len(p["t"]), object)
    for i in range(0, len(p["t"]), 50):            # the steps as a live detector returns them
        rows[i] = det.update(p["t"][i:i + 50], p["acc"][i:i + 50], None, q[i:i + 50])
    for i in range(len(p["t"])):
        if rows[i] is None:
            rows[i] = []
    rows[-1] = rows[-1] + det.flush()
    got = assert_chunk_invariant(_MetricsFed, [p["t"], ang, lev, rows],
                                 chunk_sizes=(1, 13, (3, 250, 0, 41)))
    assert sum(m.excluded is None for m in got) >= 25


def test_rate_check():
    ok, why = running_rate_ok(200.0)
    assert ok and why
    low, why_low = running_rate_ok(100.0)
    assert not low and why_low
    assert not running_rate_ok(float("nan"))[0]


def test_through_the_firmware_in_the_loop(tmp_path):
    """Phantom IMU → the real firmware under MicroPython (200 Hz, BLE) → capture → decode →
    the running stages, on the device's own orientation."""
    p = running_phantom(segments=(("walk", 6), ("run", 40), ("walk", 6)), seed=13)
    out = tmp_path / "run.sacrum"
    simulate(p["acc"], p["gyr"], 200, out)
    table = decode_capture(out)
    assert table.loss.samples_lost == 0
    a0 = table.acc_mps2[:20].astype(float)
    k = int(np.argmin([np.nanmax(np.abs(a0 - p["acc"][j:j + 20])) for j in range(60)]))
    t = table.t_s + (k / 200.0 - table.t_s[0])      # the phantom's time axis
    q = table.q.astype(float)
    acc = table.acc_mps2.astype(float)
    steps, bouts, metrics = analyse(p, q=q, t=t, acc=acc, rate=200.0)
    check_against_truth(p, steps, metrics)
    assert [b.mode for b in bouts] == ["walk", "run", "walk"]


DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _real_walks():
    """Real lower-back recordings of walking only (../shared/data: mobgap HA001's daily
    activities, 100 Hz; the first IPOL walk test of each person, 100 Hz, lost packets as NaN
    rows; AGPL, read in place)."""
    import scipy.io

    mat = scipy.io.loadmat(DATA / "mobgap/HA/001/data.mat", simplify_cells=True)
    su = mat["data"]["TimeMeasure1"]["Test11"]["Trial1"]["SU"]["LowerBack"]
    acc = np.asarray(su["Acc"], float) * 9.80665
    yield "mobgap-Test11", acc, np.deg2rad(np.asarray(su["Gyr"], float))
    for p in sorted((DATA / "ipol").glob("*-1_lb.txt")):
        d = np.loadtxt(p, skiprows=2)
        k = (d[:, 0] - d[0, 0]).astype(int)
        full = np.full((k[-1] + 1, 6), np.nan)
        full[k] = d[:, 1:7]
        yield f"ipol-{p.name[:-7]}", full[:, :3], full[:, 3:]


def test_real_walking_has_no_running_steps():
    """Nobody runs in these recordings: the flight comparator must never fire. (A check of
    the fixed thresholds on data they were not chosen on: their lowest vertical specific
    force while walking is 0.42-0.8 g, above the 0.3-g flight level.)"""
    if not (DATA / "mobgap").is_dir() or not (DATA / "ipol").is_dir():
        pytest.skip(f"no reference data at {DATA}")
    n = 0
    for name, acc, gyr in _real_walks():
        q = orientation_offline(acc, gyr, 100.0)
        t = np.arange(len(acc)) / 100.0
        steps, _ = detect_running(t, acc, q, parse_mount("x=up,y=left,z=back"), 100.0)
        assert steps, name
        assert not [s for s in steps if s.mode == "run"], name
        n += 1
    assert n == 7


def test_a_mis_timed_contact_is_no_running_step_variability():
    """As walking's: one contact timed late makes one step 0.1 s long and the next 0.1 s
    short; the step-time CV leaves them out (it read about 5 % with them, 1 % without)."""
    from dataclasses import replace

    rng = np.random.default_rng(5)
    steps = [RunningStepMetrics(
        stance_side="LR"[k % 2], t_ic_s=0.34 * k, t_to_s=0.34 * k + 0.2, bout=0,
        contact_time_s=0.2 + 0.004 * rng.standard_normal(), flight_time_s=0.14,
        step_time_s=0.34 * (1 + 0.01 * rng.standard_normal()), contralateral_drop_deg=4.0,
        drop_time_pct=30.0, obliquity_rom_deg=8.0, tilt_rom_deg=4.0, rotation_rom_deg=8.0,
        mean_tilt_deg=0.0, vertical_oscillation_m=0.08, braking_mps2=5.0,
        peak_vertical_mps2=25.0, excluded=None) for k in range(60)]
    clean = summarize_run(steps).variability["step_time_cv_pct"]
    late = list(steps)
    late[30] = replace(late[30], step_time_s=late[30].step_time_s + 0.1)
    late[31] = replace(late[31], step_time_s=late[31].step_time_s - 0.1)
    times = np.array([s.step_time_s for s in late])
    assert 100 * times.std(ddof=1) / times.mean() > 4.0          # the SD of every step
    assert summarize_run(late).variability["step_time_cv_pct"] == pytest.approx(clean, abs=0.2)

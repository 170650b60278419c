"""sacrum.scoring.tasks: stairs found in the motion, single-leg stance, step-down/step-up
repetitions.

The fixtures are phantoms made here from known motion, with what the tasks module is
supposed to recover written into them:

* a walking phantom: the sacrum's vertical position is a bump of ``BOB_M`` per step
  (inverted pendulum: up in mid-stance, down at the contacts) plus, on stairs, a smooth
  rise of one riser per step; its acceleration is the exact second difference of that
  position, plus a heel-strike transient (zero net impulse) per step, anteroposterior
  and medio-lateral accelerations at the step and stride frequencies, white noise and a
  slowly drifting vertical offset (what a gravity removal with a slightly wrong
  orientation leaves). Stairs are slower (80-90 steps/min against 110) with bigger
  heel-strike peaks and a smaller anteroposterior acceleration. An optional barometer
  reads the height through the hypsometric relation with noise and a slow drift.
* a single-leg stance phantom: obliquity steps to a known drop at the lift, rings down
  (the stabilisation), sways with a known amplitude and returns at a known foot-down
  time, with a heel-contact spike in the vertical acceleration; the angular velocity is
  the derivative of the angles plus gyroscope noise.
* a step-down phantom: N repetitions of known depth, duration and contralateral drop.

Nothing here is real stair data: the project has none with a reference (see
``StairDetector``'s limits).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from phantoms import sls_phantom, step_phantom
from sacrum.scoring.metrics import body_acceleration
from sacrum.scoring.tasks import (
    AIR_SCALE_HEIGHT_M,
    Findings,
    RepetitionCounter,
    SingleLegStanceMonitor,
    StairSegment,
    TaskInputError,
    contralateral_drop_rad,
    find_stairs,
    ldlj_acc,
    repetitions,
    single_leg_stance,
    to_body_frame,
)
from streaming import assert_chunk_invariant, bounds, random_sizes

FS = 100.0
G = 9.80665
BOB_M = 0.02          # vertical bob of the pelvis per step (m)
RISER_M = 0.17
D = math.radians


# ---------------------------------------------------------------------------- walking phantom


def walk_phantom(plan, *, seed=0, noise_mps2=0.08, offset_mps2=0.15, drift_mps2=0.01,
                 pressure=False, baro_noise_hpa=0.01):
    """Acceleration (progression frame, gravity removed), true height and truth segments.

    plan: list of ("stand", seconds) | ("walk", n_steps, step_s) |
    ("stairs", n_steps, step_s, rise_per_step_m). Returns dict with t, acc, height,
    pressure (or None) and stairs: [(t_start, t_end, "up"|"down")].
    """
    rng = np.random.default_rng(seed)
    dt = 1.0 / FS
    z_parts, ap_parts, ml_parts, hs_times, truth = [], [], [], [], []
    t_now, h_now, stride_phase = 0.0, 0.0, 0.0
    for item in plan:
        if item[0] == "stand":
            n = round(item[1] * FS)
            z_parts.append(np.full(n, h_now))
            ap_parts.append(np.zeros(n))
            ml_parts.append(np.zeros(n))
            t_now += n * dt
            continue
        kind, n_steps, step_s = item[0], item[1], item[2]
        rise = item[3] if kind == "stairs" else 0.0
        t0 = t_now
        for _ in range(n_steps):
            step = step_s * (1 + 0.03 * rng.standard_normal())
            n = round(step * FS)
            ph = np.arange(n) / n
            r = rise * (1 + 0.05 * rng.standard_normal()) if rise else 0.0
            z = h_now + BOB_M * (1 - np.cos(2 * np.pi * ph)) / 2 \
                + r * (ph - np.sin(2 * np.pi * ph) / (2 * np.pi))
            z_parts.append(z)
            amp_ap = 1.5 if kind == "walk" else 0.8
            ap_parts.append(amp_ap * np.sin(2 * np.pi * ph + 0.5))
            ml_parts.append(0.7 * np.sin(np.pi * (stride_phase + ph)))
            stride_phase = (stride_phase + 1) % 2
            hs_times.append((t_now, 2.0 if kind == "walk" else 4.0))
            h_now += r
            t_now += n * dt
        if kind == "stairs":
            truth.append((t0, t_now, "up" if rise > 0 else "down"))
    z = np.concatenate(z_parts)
    n = len(z)
    t = np.arange(n) * dt
    # exact second difference: integrating it twice gives z back
    a_v = np.gradient(np.gradient(z, dt), dt)
    # heel strike: second derivative of a narrow Gaussian dip (zero net impulse)
    s = 0.02
    for th, peak in hs_times:
        u = (t - th - 0.03) / s
        a_v += peak * (1 - u * u) * np.exp(-u * u / 2)
    a_v += offset_mps2 + drift_mps2 * np.sin(2 * np.pi * t / 40.0)
    acc = np.c_[np.concatenate(ap_parts), np.concatenate(ml_parts), a_v]
    acc += noise_mps2 * rng.standard_normal(acc.shape)
    out = {"t": t, "acc": acc, "height": z, "stairs": truth, "pressure": None}
    if pressure:
        p0 = 1008.0
        p = p0 * np.exp(-z / AIR_SCALE_HEIGHT_M)
        p += baro_noise_hpa * rng.standard_normal(n) + 0.01 * np.sin(2 * np.pi * t / 90.0)
        p = np.round(p, 4)                  # 0.0001-hPa resolution, like the Mobilise-D file
        out["pressure"] = p
    return out


LEVEL_STEP_S = 0.545      # 110 steps/min
STAIR_STEP_S = 0.70       # 86 steps/min


def stairs_plan(direction="up", n_stairs=10):
    rise = RISER_M if direction == "up" else -RISER_M
    step = STAIR_STEP_S if direction == "up" else 0.62
    return [("stand", 3.0), ("walk", 16, LEVEL_STEP_S), ("stairs", n_stairs, step, rise),
            ("walk", 10, LEVEL_STEP_S), ("stand", 3.0)]


def _overlap(seg: StairSegment, truth) -> float:
    t0, t1, _ = truth
    return max(0.0, min(seg.t_end_s, t1) - max(seg.t_start_s, t0))


# ------------------------------------------------------------------------------ stairs: tests


@pytest.mark.parametrize("direction", ["up", "down"])
def test_stairs_found_after_level_walking_with_their_direction(direction):
    ph = walk_phantom(stairs_plan(direction), seed=1)
    found = find_stairs(ph["t"], ph["acc"])
    truth = ph["stairs"][0]
    assert len(found) == 1, (found, found.messages)
    seg = found[0]
    assert seg.direction == direction
    assert abs(seg.t_start_s - truth[0]) < 1.0 and abs(seg.t_end_s - truth[1]) < 1.0
    assert seg.confidence > 0.7
    expected_rise = (RISER_M if direction == "up" else -RISER_M) * 10
    assert abs(seg.rise_m - expected_rise) < 0.3 * abs(expected_rise)
    assert "IMU height" in seg.evidence and "standing before and after" in seg.evidence


def test_level_walking_is_not_stairs():
    plan = [("stand", 3.0), ("walk", 60, LEVEL_STEP_S), ("stand", 3.0)]
    for seed in range(3):
        ph = walk_phantom(plan, seed=10 + seed)
        assert find_stairs(ph["t"], ph["acc"]) == []
        # even when asked for everything, nothing looks like stairs with any confidence
        low = find_stairs(ph["t"], ph["acc"], min_confidence=0.0)
        assert all(s.confidence < 0.5 for s in low)


def test_slow_level_walking_with_big_peaks_is_not_stairs():
    """The acceleration pattern of stairs alone (slow, big peaks) does not make stairs."""
    plan = [("stand", 3.0), ("walk", 16, LEVEL_STEP_S), ("stairs", 10, STAIR_STEP_S, 0.0),
            ("walk", 10, LEVEL_STEP_S), ("stand", 3.0)]
    ph = walk_phantom(plan, seed=4)
    assert find_stairs(ph["t"], ph["acc"]) == []


def test_barometer_raises_the_confidence():
    ph = walk_phantom(stairs_plan("up"), seed=2, pressure=True)
    imu_only = find_stairs(ph["t"], ph["acc"])
    with_baro = find_stairs(ph["t"], ph["acc"], pressure_hpa=ph["pressure"])
    assert len(imu_only) == 1 and len(with_baro) == 1
    assert with_baro[0].direction == "up"
    assert with_baro[0].confidence > imu_only[0].confidence
    assert with_baro[0].confidence > 0.95
    assert "barometer" in with_baro[0].evidence


def test_barometer_alone_carries_a_flight_the_imu_cannot_anchor():
    """Continuous walking for a minute and a half with no standing: the IMU height is
    high-passed and weakly anchored; the barometer still shows the floor."""
    plan = [("walk", 70, LEVEL_STEP_S), ("stairs", 12, STAIR_STEP_S, RISER_M),
            ("walk", 70, LEVEL_STEP_S)]
    ph = walk_phantom(plan, seed=3, pressure=True)
    found = find_stairs(ph["t"], ph["acc"], pressure_hpa=ph["pressure"])
    hits = [s for s in found if _overlap(s, ph["stairs"][0]) > 0]
    assert len(hits) == 1 and hits[0].direction == "up" and hits[0].confidence > 0.9


def test_level_walking_with_a_barometer_is_not_stairs():
    plan = [("stand", 3.0), ("walk", 60, LEVEL_STEP_S), ("stand", 3.0)]
    ph = walk_phantom(plan, seed=5, pressure=True, baro_noise_hpa=0.03)
    assert find_stairs(ph["t"], ph["acc"], pressure_hpa=ph["pressure"]) == []


def test_bouts_limit_the_search():
    """Bouts as (start, end) pairs or as the gait stage's GaitBout objects."""
    from sacrum.signal.gait import GaitBout

    ph = walk_phantom(stairs_plan("up"), seed=6)
    _, t1, _ = ph["stairs"][0]
    assert len(find_stairs(ph["t"], ph["acc"], bouts=[(3.0, t1 + 5.0)])) == 1
    bout = GaitBout(0, 3.0, t1 + 5.0, 40, 100.0, 100.0, 1.2, 0.6, 0.7, 0.5, 18, 18)
    assert len(find_stairs(ph["t"], ph["acc"], bouts=[bout])) == 1
    outside = find_stairs(ph["t"], ph["acc"], bouts=[(t1 + 2.0, t1 + 5.0)])
    assert outside == [] and any("no stairs found" in m for m in outside.messages)


def test_gravity_included_and_sensor_frame_with_orientation():
    ph = walk_phantom(stairs_plan("up"), seed=7)
    with_g = ph["acc"] + [0.0, 0.0, G]
    found = find_stairs(ph["t"], with_g)
    assert len(found) == 1 and found[0].direction == "up"
    assert any("gravity" in m for m in found.messages)
    # the same motion as a sensor mounted tilted 20° and turned, with its orientation
    ang = D(20.0)
    q = np.array([math.cos(ang / 2), math.sin(ang / 2), 0.0, 0.0])   # about earth x
    q_yaw = np.array([math.cos(0.6), 0.0, 0.0, math.sin(0.6)])
    from sacrum.signal.quaternion import quat_conjugate, quat_multiply, quat_rotate
    q_s2e = quat_multiply(q_yaw, q)
    acc_sensor = quat_rotate(np.broadcast_to(quat_conjugate(q_s2e), (len(with_g), 4)),
                             quat_rotate(np.broadcast_to(q_yaw, (len(with_g), 4)), with_g))
    found_q = find_stairs(ph["t"], acc_sensor,
                          q_sensor_to_earth=np.broadcast_to(q_s2e, (len(with_g), 4)))
    assert len(found_q) == 1 and found_q[0].direction == "up"


def test_stairs_bad_input():
    t = np.arange(0, 20, 1 / FS)
    still = np.zeros((len(t), 3))
    res = find_stairs(t, still)
    assert res == [] and any("no walking" in m for m in res.messages)
    short = find_stairs(t[:100], still[:100])
    assert short == [] and any("too short" in m for m in short.messages)
    # NaN gaps: a short one bridged, a long one splits; the flight is still found
    ph = walk_phantom(stairs_plan("up"), seed=8)
    acc = ph["acc"].copy()
    acc[500:510] = np.nan
    acc[200:300] = np.nan          # during the standing at the start
    found = find_stairs(ph["t"], acc)
    assert len(found) == 1 and found[0].direction == "up"
    assert any("bridged" in m for m in found.messages)
    assert any("gap" in m and "not analysed" in m for m in found.messages)
    all_nan = find_stairs(t, np.full((len(t), 3), np.nan))
    assert all_nan == [] and all_nan.messages
    with pytest.raises(TaskInputError):
        find_stairs(t, still[:, :2])


# ----------------------------------------------------------------------- single-leg stance


@pytest.mark.parametrize("side", ["L", "R"])
def test_single_leg_stance_recovers_drop_sway_and_times(side):
    t, ang, gyr, acc, truth = sls_phantom(side, drop_deg=6.0, hold_s=12.0, sway_deg=1.0)
    r = single_leg_stance(t, ang, gyr, side, acc_body_mps2=acc)
    assert r.side == side
    assert abs(math.degrees(r.drop_mean_rad) - 6.0) < 0.3
    assert 6.0 < math.degrees(r.drop_peak_rad) < 6.0 + 1.0 + 3.0 + 0.1
    assert abs(r.t_lift_s - truth["lift"]) < 0.3
    assert abs(r.time_held_s - 12.0) < 0.5 and not r.held_to_end
    assert 0.3 < r.time_to_stabilise_s < 3.0
    # the ranges: those of the phantom's noise-free angles over the hold reported (the
    # sway's 2° and 1°, plus what is left of the ringing when it counts as stable)
    hold = (t >= r.t_stable_s) & (t < r.t_stable_s + r.hold_s)
    clean = sls_phantom(side, drop_deg=6.0, hold_s=12.0, sway_deg=1.0)[1]
    for k, rng_rad in ((0, r.tilt_range_rad), (1, r.obliquity_range_rad)):
        assert abs(math.degrees(rng_rad - np.ptp(clean[hold, k]))) < 0.3
    assert 2.0 - 0.3 < math.degrees(r.obliquity_range_rad) < 2.0 + 1.0
    assert 1.0 - 0.3 < math.degrees(r.tilt_range_rad) < 1.0 + 1.0
    # angular velocity RMS of the sway: obliquity 1° and tilt 0.5° at 0.4 Hz
    w = 2 * np.pi * 0.4
    expected = math.sqrt((D(1.0) * w) ** 2 / 2 + (D(0.5) * w) ** 2 / 2)
    assert abs(r.gyr_rms_radps - expected) < 0.2 * expected
    d = r.to_dict_deg()
    assert abs(d["drop_mean_deg"] - 6.0) < 0.3 and "drop_mean_rad" not in d


def test_single_leg_stance_hip_hike_is_a_negative_drop():
    t, ang, gyr, acc, _ = sls_phantom("R", drop_deg=-3.0)
    r = single_leg_stance(t, ang, gyr, "R", acc_body_mps2=acc)
    assert abs(math.degrees(r.drop_mean_rad) + 3.0) < 0.3


def test_single_leg_stance_time_to_stabilise_grows_with_the_ringing():
    quick = single_leg_stance(*sls_phantom(ring_tau_s=0.3)[:3], "L")
    slow = single_leg_stance(*sls_phantom(ring_tau_s=1.2, ring_deg=5.0)[:3], "L")
    assert slow.time_to_stabilise_s > quick.time_to_stabilise_s + 0.5


def test_single_leg_stance_without_acceleration_and_held_to_the_end():
    t, ang, gyr, _, _ = sls_phantom(hold_s=8.0)
    r = single_leg_stance(t, ang, gyr, "L")              # foot-down from the angular burst
    assert abs(r.time_held_s - 8.0) < 0.5
    t, ang, gyr, _, _ = sls_phantom(hold_s=30.0, after_s=0.0)
    k = np.searchsorted(t, 15.0)
    r = single_leg_stance(t[:k], ang[:k], gyr[:k], "L")
    assert r.held_to_end and abs(r.time_held_s - 13.0) < 0.3
    assert any("at least" in m for m in r.messages)


def test_single_leg_stance_streaming_equals_offline():
    t, ang, gyr, acc, _ = sls_phantom()
    whole = single_leg_stance(t, ang, gyr, "L", acc_body_mps2=acc)
    # each update gives the result so far; flush() (last) the task's
    for last in (lambda outs: outs[-2], lambda outs: outs[-1]):
        live = assert_chunk_invariant(lambda: SingleLegStanceMonitor("L"), (t, ang, gyr, acc),
                                      [173, random_sizes(3, 50, 400)], collect=last)
        assert live == whole


def test_single_leg_stance_bad_input():
    t = np.arange(0, 10, 1 / FS)
    z = np.zeros((len(t), 3))
    r = single_leg_stance(t, z, z, "L")
    assert any("no lift-off" in m for m in r.messages)
    assert any("no movement" in m for m in r.messages)
    short = single_leg_stance(t[:50], z[:50], z[:50], "R")
    assert math.isnan(short.time_held_s) and any("too short" in m for m in short.messages)
    # gaps: a short one bridged, a long one during the hold said
    t, ang, gyr, acc, _ = sls_phantom()
    ang, gyr = ang.copy(), gyr.copy()
    ang[600:610] = np.nan
    gyr[800:900] = np.nan
    r = single_leg_stance(t, ang, gyr, "L", acc_body_mps2=acc)
    assert abs(math.degrees(r.drop_mean_rad) - 5.0) < 0.3
    assert any("bridged" in m for m in r.messages)
    assert any("may have come down unseen" in m for m in r.messages)
    with pytest.raises(TaskInputError):
        single_leg_stance(t, ang, gyr, "left")


# -------------------------------------------------------------------- step-down / step-up


@pytest.mark.parametrize("kind, side", [("step-down", "R"), ("step-down", "L"),
                                        ("step-up", "L")])
def test_repetitions_are_counted_with_their_drops(kind, side):
    drops = (3, 5, 7, 4, 6)
    t, ang, acc, truth = step_phantom(kind, side, drops)
    reps = repetitions(t, ang, acc, kind, side)
    assert isinstance(reps, Findings) and len(reps) == len(drops), reps.messages
    for r, tr in zip(reps, truth, strict=True):
        assert r.kind == kind and r.side == side
        assert abs(math.degrees(r.peak_drop_rad - tr["drop"])) < 0.5
        assert abs(math.degrees(r.drop_excursion_rad - tr["excursion"])) < 0.6
        assert abs(r.t_start_s - tr["t_start"]) < 0.5 and abs(r.t_end_s - tr["t_end"]) < 0.5
        assert abs(r.duration_s - (tr["t_end"] - tr["t_start"])) < 0.7
        assert 0.6 * tr["depth"] < r.depth_m < 1.4 * tr["depth"]   # approximate
        assert math.isfinite(r.ldlj_a)
    assert [r.index for r in reps] == list(range(len(drops)))


def test_repetition_smoothness_sees_a_jerky_repetition():
    t, ang, acc, _ = step_phantom(jerky=(2,))
    reps = repetitions(t, ang, acc, "step-down", "R")
    assert len(reps) == 5
    smooth = [r.ldlj_a for k, r in enumerate(reps) if k != 2]
    assert reps[2].ldlj_a < min(smooth) - 1.0
    assert reps[2].jerk_rms_mps3 > 2 * max(r.jerk_rms_mps3 for k, r in enumerate(reps)
                                           if k != 2)


def test_repetitions_streaming_equals_offline():
    t, ang, acc, _ = step_phantom()
    whole = repetitions(t, ang, acc, "step-down", "R")
    rc = RepetitionCounter("step-down", "R")
    live, when = [], []
    for a, b in bounds(len(t), 37):
        new = rc.update(t[a:b], ang[a:b], acc[a:b])
        live += new
        when += [t[b - 1]] * len(new)
    live += rc.flush()
    assert len(live) == len(whole)
    for a, b in zip(live, whole, strict=True):
        assert a.t_start_s == pytest.approx(b.t_start_s, abs=0.02)
        assert a.peak_drop_rad == pytest.approx(b.peak_drop_rad, abs=1e-9)
        assert a.ldlj_a == pytest.approx(b.ldlj_a, abs=1e-6)
    # latency: all but the last come out before the end of the task, each within
    # excursion window / 2 + min_rep_s (4 + 1 s) of its end, plus one chunk
    assert len(when) >= len(whole) - 1
    for r, w in zip(live, when, strict=False):
        assert w - r.t_end_s <= 4.0 + 1.0 + 0.37
    d = live[0].to_dict_deg()
    assert d["peak_drop_deg"] == pytest.approx(math.degrees(live[0].peak_drop_rad))


def test_repetitions_bad_input():
    t = np.arange(0, 20, 1 / FS)
    z = np.zeros((len(t), 3))
    none = repetitions(t, z, z, "step-down", "L")
    assert len(none) == 0 and any("was the task performed" in m for m in none.messages)
    short = repetitions(t[:100], z[:100], z[:100], "step-up", "L")
    assert len(short) == 0 and any("too short" in m for m in short.messages)
    t, ang, acc, _ = step_phantom()
    acc = acc.copy()
    acc[300:310] = np.nan                # bridged
    reps = repetitions(t, ang, acc, "step-down", "R")
    assert len(reps) == 5 and any("bridged" in m for m in reps.messages)
    acc[1000:1100] = np.nan             # a long gap splits the task: what is left is counted
    reps = repetitions(t, ang, acc, "step-down", "R")
    assert 3 <= len(reps) <= 5 and any("not analysed across" in m for m in reps.messages)
    with pytest.raises(TaskInputError):
        repetitions(t, ang, acc, "squat", "R")
    with pytest.raises(TaskInputError):
        repetitions(t, ang, acc[:10], "step-down", "R")


# ------------------------------------------------------------------------------- helpers


def test_contralateral_drop_sign_follows_the_angle_definition():
    # obliquity + = left side up, right side down: a drop of the right side, i.e. of the
    # side opposite a left stance
    assert contralateral_drop_rad(np.array([0.1]), "L")[0] == pytest.approx(0.1)
    assert contralateral_drop_rad(np.array([0.1]), "R")[0] == pytest.approx(-0.1)


def test_ldlj_of_a_minimum_jerk_movement_beats_a_ripple():
    t = np.arange(0, 2, 1 / FS)
    s = t / 2
    pos = 10 * s**3 - 15 * s**4 + 6 * s**5                  # minimum jerk, 1 m
    a = np.gradient(np.gradient(pos, 1 / FS), 1 / FS)
    smooth, _ = ldlj_acc(np.c_[a, 0 * a, 0 * a], FS)
    rough, _ = ldlj_acc(np.c_[a + 0.3 * np.sin(2 * np.pi * 5 * t), 0 * a, 0 * a], FS)
    assert smooth > rough


def test_frames():
    q_mount = np.array([math.cos(math.pi / 4), 0.0, -math.sin(math.pi / 4), 0.0])
    # the recommended mounting: sensor x up, so a sensor x rate is a body z (yaw) rate
    v = to_body_frame(np.array([[1.0, 0.0, 0.0]]), q_mount)
    assert v[0] == pytest.approx([0.0, 0.0, 1.0], abs=1e-12)
    # standing still facing earth +y, sensor = earth: gravity goes, forward is +y
    acc = np.array([[0.0, 1.0, G]])
    out = body_acceleration(np.array([[1.0, 0, 0, 0]]), acc, np.array([math.pi / 2]))
    assert out[0] == pytest.approx([1.0, 0.0, 0.0], abs=1e-12)

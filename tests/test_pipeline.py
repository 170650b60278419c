"""The whole pipeline as one streaming processor: chunk invariance, calibration,
progression heading, and a real recording end to end."""

from __future__ import annotations

import numpy as np
import pytest

from sacrum.apps.cli import DEMO_CAPTURE
from sacrum.io.decode import decode_capture
from sacrum.signal.angles import quat_from_angles
from sacrum.signal.mounting import parse_mount
from sacrum.signal.pipeline import MountingError, Pipeline, analyze_recording
from sacrum.signal.quaternion import quat_conjugate, quat_multiply, quat_rotate
from sacrum.testing.walking_phantom import walking_phantom
from sacrum.testing.walking_phantom import walking_phantom as phantom
from streaming import assert_chunk_invariant, join, random_sizes

RATE = 100
RECOMMENDED = parse_mount("recommended")


def _body_motion(seconds_still=3.0, seconds_walk=20.0, heading_deg=30.0, turn_at=None):
    """Known pelvic angles (tilt, obliquity, rotation) standing then walking.

    Obliquity ±4° at the stride frequency, tilt ±2° at the step frequency,
    rotation ±5° at the stride frequency, around a walking heading.
    """
    n0, n1 = int(seconds_still * RATE), int(seconds_walk * RATE)
    t = np.arange(n0 + n1) / RATE
    w = 2 * np.pi * 0.9
    walk = np.r_[np.zeros(n0), np.ones(n1)]
    tilt = np.deg2rad(2.0) * np.sin(2 * w * t) * walk
    obl = np.deg2rad(4.0) * np.sin(w * t) * walk
    rot = np.deg2rad(5.0) * np.sin(w * t + 0.5) * walk
    heading = np.full_like(t, np.deg2rad(heading_deg))
    if turn_at is not None:
        heading += np.deg2rad(90.0) * np.clip((t - turn_at) / 2.0, 0, 1)
    q_be = quat_from_angles(tilt, obl, rot + heading)
    q_se = quat_multiply(q_be, RECOMMENDED)  # sensor -> body -> earth
    acc = np.tile([9.80665, 0.0, 0.0], (len(t), 1))  # gravity along sensor x (up as worn)
    acc[n0:, 0] += 1.5 * np.sin(2 * w * t[n0:])  # walking: not still
    gyr = np.zeros((len(t), 3))
    gyr[n0:, 2] = 0.3 * np.cos(w * t[n0:])
    return t, acc, gyr, q_se, np.stack([tilt, obl, rot], 1)


def test_known_pelvic_angles_come_back_after_the_standing_calibration():
    t, acc, gyr, q, truth = _body_motion()
    out = Pipeline(RATE, RECOMMENDED).update(t, acc, gyr, q)
    assert out.calibrated
    walk = slice(int(6 * RATE), None)  # after the heading window has filled with walking
    got = np.rad2deg(out.angles_rad[walk])
    want = np.rad2deg(truth[walk])
    np.testing.assert_allclose(got[:, :2], want[:, :2], atol=1e-6)  # tilt, obliquity exact
    # rotation is relative to the heading averaged over the last stride (1.11 s, found
    # in the pelvis heading itself): the known ±5° oscillation
    assert np.max(np.abs(got[:, 2] - want[:, 2])) < 0.2
    assert np.ptp(got[:, 2]) == pytest.approx(10.0, abs=0.2)


def test_rotation_follows_the_walking_direction_after_a_turn():
    t, acc, gyr, q, truth = _body_motion(seconds_walk=30.0, turn_at=15.0)
    out = Pipeline(RATE, RECOMMENDED).update(t, acc, gyr, q)
    after = slice(int(20 * RATE), None)  # 3 s after the 90° turn ended
    assert np.max(np.abs(np.rad2deg(out.angles_rad[after, 2] - truth[after, 2]))) < 0.6


def _u_turn(seed=0):
    """A phantom walk with a 180° turn over 2 s from step 24 (known rotation about a known
    walking direction)."""
    return walking_phantom(n_steps=60, turns=((24, 180.0, 2.0),), seed=seed)


def _rotation_error_deg(rot_rad, truth_rad):
    return np.degrees(np.angle(np.exp(1j * (rot_rad - truth_rad))))


def test_offline_heading_is_clear_of_a_u_turn_and_flags_it():
    ph = _u_turn()
    t = ph["t"]
    res = analyze_recording(t, ph["acc"], ph["gyr"], RATE, q_sensor_to_body=RECOMMENDED)
    (turn,) = res.gait.turns
    err = _rotation_error_deg(res.angles_rad[:, 2], ph["angles"][:, 2])
    in_turn = (t >= turn.t_start_s) & (t <= turn.t_end_s)
    walk = (t > ph["t_ic"][2]) & (t < ph["t_ic"][-2])
    assert not res.heading_settled[in_turn].any()
    assert res.heading_settled[walk & ~in_turn].all()
    # the stride just after the turn is measured against the new direction (measured 0.05°
    # and 0.07°; 0.10° and 0.15° while the phantom's gyro led its truth by half a sample)
    stride = 2 * np.mean(ph["t_step"])
    after = (t > turn.t_end_s) & (t <= turn.t_end_s + stride)
    assert np.max(np.abs(err[after])) < 0.12
    assert np.max(np.abs(err[res.heading_settled & walk])) < 0.12
    # the turn's samples are flagged in the per-sample outputs only there
    assert len(res.heading_settled) == len(t)


def test_the_per_sample_export_carries_the_settled_flag(tmp_path):
    import csv

    from sacrum.analysis import Recording, analyze
    from sacrum.apps.exports import write_samples_csv

    ph = _u_turn()
    t = ph["t"]
    res = analyze_recording(t, ph["acc"], ph["gyr"], RATE, q_sensor_to_body=RECOMMENDED)
    rec = Recording("csv", t, ph["acc"], ph["gyr"], None, RATE, [],
                    {"samples_expected": len(t), "samples_lost": 0, "loss_fraction": 0.0})
    out = tmp_path / "samples.csv"
    write_samples_csv(analyze(rec, mount="recommended"), out)
    with open(out, newline="") as f:
        col = [int(r["heading_settled"]) for r in csv.DictReader(f)]
    np.testing.assert_array_equal(np.array(col, bool), res.heading_settled)
    assert 0 < np.mean(col) < 1


def test_live_heading_recovers_after_a_u_turn_and_says_when_it_is_settled():
    ph = _u_turn()
    t = ph["t"]

    def live(**params):
        pipe = Pipeline(RATE, RECOMMENDED, **params)
        outs = [pipe.update(t[i:i + 11], ph["acc"][i:i + 11], ph["gyr"][i:i + 11])
                for i in range(0, len(t), 11)]
        return (np.concatenate([o.angles_rad[:, 2] for o in outs]),
                np.concatenate([o.heading_settled for o in outs]), pipe)

    rot, settled, pipe = live()
    plain, _, _ = live(heading_settle_rad=np.inf)  # never turning: the plain trailing stride
    (turn,) = pipe.gait.turns
    stride = 2 * np.mean(ph["t_step"])
    after = (t > turn.t_end_s) & (t <= turn.t_end_s + stride)
    err = _rotation_error_deg(rot, ph["angles"][:, 2])
    err_plain = _rotation_error_deg(plain, ph["angles"][:, 2])
    rms = lambda x: float(np.sqrt(np.mean(x ** 2)))  # noqa: E731
    assert rms(err[after]) < 0.5 * rms(err_plain[after])
    # unsettled from half a second into the turn (two one-stride means must part by 5°)
    # through the stride after it; settled in straight walking
    t_turn = ph["turns"][0][0]
    assert not settled[(t >= t_turn + 0.6) & (t <= turn.t_end_s + stride)].any()
    straight = (t > ph["t_ic"][4]) & (t < turn.t_start_s - stride)
    assert settled[straight].all()
    assert rms(err[settled & straight]) < 0.08   # 0.05° (0.10° with the phantom's lead)


def _angles_settled_events(outs):
    """A pipeline run's outputs (each chunk's, then flush's events) as one."""
    run = join(outs[:-1])
    return (run.angles_rad, run.heading_settled,
            [(e.t_s, e.kind, e.side) for e in run.events + outs[-1]])


@pytest.mark.parametrize("seed", [1, 2])
def test_any_chunking_gives_the_same_output(seed):
    t, acc, gyr, _, _ = _body_motion(seconds_walk=30.0, turn_at=15.0)
    acc = acc + np.random.default_rng(seed).normal(0, 0.05, acc.shape)
    acc[900:920] = np.nan  # lost samples
    gyr[900:920] = np.nan
    angles, settled, _ = assert_chunk_invariant(
        lambda: Pipeline(RATE, RECOMMENDED), (t, acc, gyr),
        [random_sizes(seed, 1, 40, 200), 11], collect=_angles_settled_events, atol=1e-9)
    assert 0 < settled.mean() < 1  # the turn is flagged
    assert np.isnan(angles[900:920]).all()


@pytest.mark.parametrize("step_s", [0.45, 0.70])
def test_live_rotation_rom_at_fast_and_slow_cadence(step_s):
    """Live, one notification (11 samples) at a time: the heading window is the stride
    found in the pelvis heading, so the rotation ROM holds at 133 and 86 steps/min (a
    fixed 1.1-s window read it 1.0° low and 1.6° high), as offline (test_metrics)."""
    ph = phantom(step_s=(step_s, step_s), n_steps=40)
    pipe = Pipeline(RATE, RECOMMENDED)
    rot = np.rad2deg(np.concatenate([
        pipe.update(ph["t"][i:i + 11], ph["acc"][i:i + 11], ph["gyr"][i:i + 11]).angles_rad[:, 2]
        for i in range(0, len(ph["t"]), 11)]))
    assert pipe.calibration is not None
    assert pipe.heading.window_n / RATE == pytest.approx(2 * step_s, rel=0.03)
    t, ic = ph["t"], ph["t_ic"]
    roms = [np.ptp(rot[(t >= a) & (t < b)]) for a, b in zip(ic[4:-2:2], ic[6::2], strict=True)]
    assert np.median(roms) == pytest.approx(2 * ph["rot_amp"], abs=0.5)


def test_no_standing_means_no_calibration_and_says_so():
    t, acc, gyr, q, _ = _body_motion(seconds_still=0.0)
    pipe = Pipeline(RATE, RECOMMENDED)
    out = pipe.update(t, acc, gyr, q)
    assert not out.calibrated and pipe.calibration is None
    assert np.isfinite(out.angles_rad[-100:]).all()  # angles relative to the mounting


@pytest.fixture(scope="module")
def daily():
    table = decode_capture(DEMO_CAPTURE)
    return table, analyze_recording(table.t_s, table.acc_mps2, table.gyr_radps, table.rate_hz)


def test_real_recording_end_to_end_gives_physiological_pelvic_motion(daily):
    table, res = daily
    assert res.mounting is not None and res.calibration is not None
    # the participant sits still first, then stands up (about 60° forward lean) and walks
    assert res.calibration.reference == "walking" and "sit-to-stand" in res.calibration_error
    ics = [e for e in res.events if e.kind == "IC"]
    assert len(ics) > 60
    # within the reference walking bouts: per-stride ranges of motion as published
    # for healthy adults (obliquity 5-15°, tilt 2-6°, rotation 6-20°; e.g. Bruening
    # et al. 2015, Gait & Posture 41:540-545)
    roms = []
    for _, a, b in table.tasks():
        m = (table.t_s > a + 1) & (table.t_s < b - 1)
        seg = np.rad2deg(res.angles_rad[m])
        for k in range(0, len(seg) - 110, 110):  # ~one stride windows
            roms.append(np.ptp(seg[k:k + 110], axis=0))
    rom = np.median(np.array(roms), axis=0)
    assert 1.0 < rom[0] < 10.0, rom  # tilt
    assert 3.0 < rom[1] < 20.0, rom  # obliquity
    assert 3.0 < rom[2] < 25.0, rom  # rotation


def test_a_sensor_that_never_moves_gives_a_clear_refusal_or_no_events():
    t = np.arange(3000) / RATE
    acc = np.tile([9.80665, 0.0, 0.0], (3000, 1))
    gyr = np.zeros((3000, 3))
    with pytest.raises(MountingError, match="no walking found"):
        analyze_recording(t, acc, gyr, RATE)
    res = analyze_recording(t, acc, gyr, RATE, q_sensor_to_body=RECOMMENDED)
    assert res.events == [] and res.calibration is not None
    np.testing.assert_allclose(res.angles_rad[-100:, :2], 0.0, atol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 5, 50])
def test_too_short_recordings_do_not_crash(n):
    t = np.arange(n) / RATE
    acc = np.tile([9.80665, 0.0, 0.0], (n, 1))
    out = Pipeline(RATE, RECOMMENDED).update(t, acc, np.zeros((n, 3)))
    assert out.angles_rad.shape == (n, 3) and out.events == []


def test_saturated_samples_are_survived():
    t, acc, gyr, _, _ = _body_motion()
    acc[500:520] = 128.0  # the wire's acceleration limit, all axes
    gyr[500:520] = 32.0
    pipe = Pipeline(RATE, RECOMMENDED)
    out = pipe.update(t, acc, gyr)
    assert np.isfinite(out.angles_rad[-200:]).all()
    np.testing.assert_allclose(np.linalg.norm(out.q_sensor_to_earth[-200:], axis=1), 1.0,
                               atol=1e-9)


def test_offline_zero_is_the_standing_before_walking_not_sitting_before_it():
    """Still 'sitting' (pelvis 15° posterior) first, then standing, then walking."""
    t, acc, gyr, q, truth = _body_motion(seconds_still=3.0, seconds_walk=20.0)
    n_sit = 400  # 4 s sitting still, prepended
    q_sit = quat_multiply(quat_from_angles(np.deg2rad(-15.0), 0.0, np.deg2rad(30.0)),
                          RECOMMENDED)
    t2 = np.arange(len(t) + n_sit) / RATE
    q2 = np.vstack([np.tile(q_sit, (n_sit, 1)), q])
    acc2 = np.vstack([np.tile(acc[0], (n_sit, 1)), acc])
    gyr2 = np.vstack([np.zeros((n_sit, 3)), gyr])
    streaming = Pipeline(RATE, RECOMMENDED).update(t2, acc2, gyr2, q2)
    offline = analyze_recording(t2, acc2, gyr2, RATE, q_sensor_to_earth=q2,
                                q_sensor_to_body=RECOMMENDED)
    walk = slice(n_sit + 600, None)
    # live: zeroed on the first still period (the sitting), so walking reads +15° tilt
    assert np.mean(np.rad2deg(streaming.angles_rad[walk, 0])) == pytest.approx(15.0, abs=0.5)
    # offline: zeroed on the standing before the first step
    np.testing.assert_allclose(np.rad2deg(offline.angles_rad[walk, :2]),
                               np.rad2deg(truth[600:, :2]), atol=1e-6)


def _with_prefix(prefix_tilt_deg: np.ndarray, *, stand_s: float, seed: int = 3):
    """The walking phantom (4° / 9° drop) after a prefix of pelvic tilt (deg, one value per
    sample, obliquity and rotation 0, the phantom's heading), as the sensor would see it:
    specific force = gravity in the sensor frame, angular rate from the orientation."""
    ph = walking_phantom(stand_s=stand_s, seed=seed, n_steps=60)
    n = len(prefix_tilt_deg)
    q_pre = quat_multiply(quat_from_angles(np.deg2rad(prefix_tilt_deg), np.zeros(n),
                                           np.full(n, np.deg2rad(30.0))), RECOMMENDED)
    acc_pre = quat_rotate(quat_conjugate(q_pre), np.tile([0.0, 0.0, 9.80665], (n, 1)))
    dq = quat_multiply(quat_conjugate(q_pre[:-1]), q_pre[1:])
    gyr_pre = np.vstack([np.zeros((1, 3)), 2 * dq[:, 1:] * RATE])
    rng = np.random.default_rng(seed)
    acc_pre += 0.03 * rng.standard_normal(acc_pre.shape)
    gyr_pre += np.deg2rad([0.6, -0.9, 0.4]) + 0.0015 * rng.standard_normal(gyr_pre.shape)
    t = np.arange(n + len(ph["t"])) / RATE
    acc = np.vstack([acc_pre, ph["acc"]])
    gyr = np.vstack([gyr_pre, ph["gyr"]])
    return t, acc, gyr, ph, n


def _ramp(a_deg: float, b_deg: float, n: int) -> np.ndarray:
    x = np.linspace(0.0, 1.0, n)
    return a_deg + (b_deg - a_deg) * x * x * (3 - 2 * x)


def _drops(res, ph, n_prefix):
    """Median peak contralateral drop per stance side (deg) over the phantom's steps."""
    obl = np.rad2deg(res.angles_rad[:, 1])
    t_ic = ph["t_ic"] + n_prefix / RATE
    out = {"L": [], "R": []}
    for k in range(4, len(t_ic) - 3):
        m = (res.t_s >= t_ic[k]) & (res.t_s < t_ic[k + 1])
        side = ph["sides"][k]
        out[side].append(np.max(obl[m]) if side == "L" else np.max(-obl[m]))
    return {sd: float(np.median(v)) for sd, v in out.items()}


def test_a_sitting_calibration_is_rejected_for_the_walking_mean():
    """Seated (pelvis 20° posterior) 4 s, a sit-to-stand (50° forward lean), walking at
    once: the still period was sitting; the zero becomes the walking mean. That keeps the
    sum of the two sides' drops (the obliquity excursion) but not their difference: in
    asymmetric gait the mean obliquity is not level (here the 4° vs 9° phantom reads about
    5.2° vs 7.9°), which the message says."""
    tilt = np.r_[np.full(400, -20.0), _ramp(-20.0, 50.0, 80), _ramp(50.0, 0.0, 70)]
    t, acc, gyr, ph, n = _with_prefix(tilt, stand_s=0.3)
    res = analyze_recording(t, acc, gyr, RATE, q_sensor_to_body=RECOMMENDED)
    assert res.calibration is not None and res.calibration.reference == "walking"
    assert "sitting" in res.calibration_error and "sit-to-stand" in res.calibration_error
    drop = _drops(res, ph, n)
    truth = {sd: float(np.median(ph["drop"][ph["sides"][:-1] == sd])) for sd in "LR"}
    assert drop["R"] + drop["L"] == pytest.approx(truth["R"] + truth["L"], abs=0.5)
    assert 0.0 < drop["R"] - drop["L"] < truth["R"] - truth["L"]
    walk = res.t_s > ph["t_ic"][2] + n / RATE
    assert abs(np.mean(np.rad2deg(res.angles_rad[walk, 0]))) < 1.0  # zero = walking mean


def test_a_forward_bend_while_standing_keeps_the_standing_calibration():
    """Standing 3 s, a 50° bend forward and back, then walking: still the standing zero."""
    tilt = np.r_[np.zeros(300), _ramp(0.0, 50.0, 80), _ramp(50.0, 0.0, 80)]
    t, acc, gyr, ph, n = _with_prefix(tilt, stand_s=0.3)
    res = analyze_recording(t, acc, gyr, RATE, q_sensor_to_body=RECOMMENDED)
    assert res.calibration.reference == "standing" and res.calibration_error is None
    drop = _drops(res, ph, n)
    for sd in "LR":
        truth = float(np.median(ph["drop"][ph["sides"][:-1] == sd]))
        assert drop[sd] == pytest.approx(truth, abs=0.5), (sd, drop)


def test_a_manual_calibration_restarts_the_heading_as_the_automatic_one_does():
    """The live view's Calibrate button (Pipeline.calibrate) levels the mounting, which
    redefines the heading: what came before must not leak into the heading after it."""
    ph = walking_phantom(seed=6, n_steps=40)
    t, acc, gyr = ph["t"], ph["acc"], ph["gyr"]
    half = len(t) // 2
    standing = Pipeline(RATE, RECOMMENDED).update(t[:250], acc[:250], gyr[:250])
    window = standing.q_sensor_to_earth[50:250]
    q = Pipeline(RATE, RECOMMENDED).update(t, acc, gyr).q_sensor_to_earth
    used = Pipeline(RATE, RECOMMENDED)
    used.update(t[:half], acc[:half], gyr[:half], q[:half])      # walked a while
    used.calibrate(window)
    fresh = Pipeline(RATE, RECOMMENDED)
    fresh.calibrate(window)
    a = used.update(t[half:], acc[half:], gyr[half:], q[half:])
    b = fresh.update(t[half:], acc[half:], gyr[half:], q[half:])
    np.testing.assert_allclose(a.heading_rad, b.heading_rad, atol=1e-9)


def test_live_sitting_calibration_is_undone_the_same_in_any_chunks():
    """Live: seated 4 s (calibrated there), a sit-to-stand, walking. The pipeline sees the
    lean and the anterior walking that follows and re-zeroes on the walking mean, at the
    same sample whatever the chunking; after it walking reads about level tilt. (A quiet
    standing later would replace that zero: tested below.)"""
    tilt = np.r_[np.full(400, -20.0), _ramp(-20.0, 50.0, 80), _ramp(50.0, 0.0, 70)]
    t, acc, gyr, ph, n = _with_prefix(tilt, stand_s=0.3)
    q = Pipeline(RATE, RECOMMENDED).update(t, acc, gyr).q_sensor_to_earth
    # up to the last step: the phantom's closing standing would give a real zero again
    end = int(np.searchsorted(t, ph["t_ic"][-1] + n / RATE))
    t, acc, gyr, q = t[:end], acc[:end], gyr[:end], q[:end]
    later = t > t[n] + 8.0

    def re_zeroed(pipe, angles):
        assert pipe.calibration.reference == "walking"
        assert "sit-to-stand" in pipe.calibration_error
        assert abs(np.mean(np.rad2deg(angles[later, 0]))) < 2.0    # was about +20° from sitting

    assert_chunk_invariant(lambda: Pipeline(RATE, RECOMMENDED), (t, acc, gyr, q), [7, 64],
                           collect=lambda outs: join(outs[:-1]).angles_rad, atol=1e-9,
                           check=re_zeroed)


def test_live_forward_bend_while_standing_keeps_the_standing_zero():
    tilt = np.r_[np.zeros(300), _ramp(0.0, 50.0, 80), _ramp(50.0, 0.0, 80)]
    t, acc, gyr, _, _ = _with_prefix(tilt, stand_s=0.3)
    pipe = Pipeline(RATE, RECOMMENDED)
    pipe.update(t, acc, gyr)
    assert pipe.calibration.reference == "standing" and pipe.calibration_error is None


def test_a_standing_after_the_walking_reference_gives_the_real_zero():
    tilt = np.r_[np.full(400, -20.0), _ramp(-20.0, 50.0, 80), _ramp(50.0, 0.0, 70)]
    t, acc, gyr, _, _ = _with_prefix(tilt, stand_s=0.3)   # ends with 2 s of standing
    pipe = Pipeline(RATE, RECOMMENDED)
    pipe.update(t, acc, gyr)
    assert pipe.calibration.reference == "standing" and pipe.calibration_error is None
    # the standing pelvis of the phantom is level in the mounting (the sitting was -20°)
    assert abs(np.rad2deg(pipe.calibration.tilt_offset_rad)) < 1.0

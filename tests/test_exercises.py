"""The exercises (issue 16): posture-relative angles, repetitions and holds on kinematic
phantoms of every exercise in every mounting, through the host's fusion, a capture and the
firmware in the loop; streaming chunk invariance; per-set summaries and scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sacrum.io.decode import decode_capture
from sacrum.scoring.exercises import (
    EXERCISES,
    HoldSegmenter,
    RepetitionSegmenter,
    analyse_exercise,
    load_exercise_bands,
    segmenter,
    summarise_sets,
)
from sacrum.scoring.exercises.posture import (
    angles_from_relative,
    body_orientation,
    body_rates,
    classify_posture,
    measurement_note,
    relative_angles,
    relative_matrix,
    relative_quat,
)
from sacrum.signal.angles import euler_from_matrix
from sacrum.signal.orientation import OrientationFilter, orientation_offline
from sacrum.signal.quaternion import quat_multiply, quat_to_matrix
from sacrum.testing.exercise_phantom import (
    MOUNTS,
    exercise_capture,
    exercise_phantom,
    firmware_orientation,
)
from streaming import assert_chunk_invariant, random_sizes

D = math.radians
REPS = sorted(t for t, e in EXERCISES.items() if not e.held)
HOLDS = sorted(t for t, e in EXERCISES.items() if e.held)
AXES = ("tilt", "obliquity", "rotation")


def _run(ph, q_sensor_to_earth=None):
    q = ph.q_sensor_to_earth if q_sensor_to_earth is None else q_sensor_to_earth
    qb = body_orientation(q, ph.q_sensor_to_body)
    seg = segmenter(ph.task, ph.rate_hz)
    if isinstance(seg, HoldSegmenter):
        seg.update(ph.t_s, qb, ph.gyr_body_radps)
    else:
        seg.update(ph.t_s, qb, ph.gyr_body_radps, ph.acc_body_mps2)
    seg.flush()
    return seg


def _errors(ph, seg, vertical_apart: bool = False) -> dict:
    """Max errors against the phantom's truth; asserts the counts on the way.
    ``vertical_apart``: the angle about the body axis that is vertical in the exercise's
    posture (the gyroscope's alone, in a 6-axis fusion) goes to
    ``vertical_excursion_deg``."""
    err = {"excursion_deg": 0.0, "metric_deg": 0.0, "hold_s": 0.0, "lost_s": 0.0,
           "tempo_s": 0.0, "vertical_excursion_deg": 0.0, "extremes_deg": 0.0}
    vertical = {"supine": "obliquity", "prone": "obliquity", "upright": "rotation",
                "side-lying-left": "tilt", "side-lying-right": "tilt"}[
        EXERCISES[ph.task].posture]
    if ph.holds:
        assert len(seg.holds) == len(ph.holds), [(h.t_start_s, h.hold_s) for h in seg.holds]
        assert seg.messages       # the attempt given up is said, not counted
        for h, tr in zip(seg.holds, ph.holds, strict=True):
            d = h.to_dict_deg()
            err["hold_s"] = max(err["hold_s"], abs(h.hold_s - tr.hold_s))
            assert math.isnan(tr.t_control_lost_s) == math.isnan(h.t_control_lost_s)
            if math.isfinite(tr.t_control_lost_s):
                err["lost_s"] = max(err["lost_s"], abs(h.t_control_lost_s - tr.t_control_lost_s))
            for a in AXES:
                key = ("vertical_excursion_deg" if vertical_apart and a == vertical
                       else "excursion_deg")
                err[key] = max(err[key], abs(d[f"{a}_excursion_deg"] - tr.excursions_deg[a]))
                _extremes_error(err, d, a, tr)
            for name, v in tr.metrics_deg.items():
                err["metric_deg"] = max(err["metric_deg"], abs(d[name] - v))
        return err
    assert len(seg.reps) == len(ph.reps), [(r.t_start_s, r.partial) for r in seg.reps]
    assert [r.partial for r in seg.reps] == [r.partial for r in ph.reps]
    assert [r.side for r in seg.reps] == [r.side for r in ph.reps]
    assert [r.set_index for r in seg.reps] == [r.set_index for r in ph.reps]
    assert len(seg.adjustments) == len(ph.adjustments)
    for r, tr in zip(seg.reps, ph.reps, strict=True):
        d = r.to_dict_deg()
        for a in AXES:
            key = ("vertical_excursion_deg" if vertical_apart and a == vertical
                   else "excursion_deg")
            err[key] = max(err[key], abs(d[f"{a}_excursion_deg"] - tr.excursions_deg[a]))
            _extremes_error(err, d, a, tr)
        for name, v in tr.metrics_deg.items():
            err["metric_deg"] = max(err["metric_deg"], abs(d[name] - v))
        if not tr.partial:
            err["tempo_s"] = max(err["tempo_s"], abs(r.up_s - tr.up_s),
                                 abs(r.down_s - tr.down_s), abs(r.t_start_s - tr.t_start_s),
                                 abs(r.t_end_s - tr.t_end_s))
    return err


def _extremes_error(err: dict, d: dict, a: str, tr) -> None:
    """The extremes of angle ``a`` against the truth's, into ``err["extremes_deg"]``; the
    signed excursion is the larger of the two extremes found, and they bracket 0."""
    lo, hi = d[f"{a}_excursion_min_deg"], d[f"{a}_excursion_max_deg"]
    assert lo <= 0.0 <= hi
    assert d[f"{a}_excursion_deg"] == (hi if hi >= -lo else lo)
    t_lo, t_hi = tr.extremes_deg[a]
    err["extremes_deg"] = max(err["extremes_deg"], abs(lo - t_lo), abs(hi - t_hi))


# ---- posture: angles against a start posture, in any posture -------------------------------

def test_relative_angles_invert_their_definition():
    rng = np.random.default_rng(1)
    a = np.column_stack([rng.uniform(-1.5, 1.5, 200), rng.uniform(-1.5, 1.5, 200),
                         rng.uniform(-1.4, 1.4, 200)])
    np.testing.assert_allclose(angles_from_relative(relative_matrix(*a.T)), a, atol=1e-12)
    np.testing.assert_allclose(quat_to_matrix(relative_quat(*a.T)), relative_matrix(*a.T),
                               atol=1e-12)


def test_signs_follow_the_body_axes_right_hand_rule():
    # +tilt about +y (left), +obliquity about +x (anterior), +rotation about +z (superior)
    for k, axis in enumerate(([0, 1, 0], [1, 0, 0], [0, 0, 1])):
        q = np.r_[math.cos(D(5) / 2), math.sin(D(5) / 2) * np.array(axis, float)]
        want = np.zeros(3)
        want[k] = D(5)
        np.testing.assert_allclose(relative_angles(q[None], np.array([1.0, 0, 0, 0])),
                                   [want], atol=1e-12)


POSTURES = {  # body axes x, y, z in the earth frame
    "upright": ([1, 0, 0], [0, 1, 0], [0, 0, 1]),
    "supine": ([0, 0, 1], [0, 1, 0], [-1, 0, 0]),
    "prone": ([0, 0, -1], [0, 1, 0], [1, 0, 0]),
    "side-lying-left": ([1, 0, 0], [0, 0, -1], [0, 1, 0]),
    "side-lying-right": ([1, 0, 0], [0, 0, 1], [0, -1, 0]),
}


@pytest.mark.parametrize("posture", list(POSTURES))
def test_angles_are_exact_in_every_posture_including_the_singular_ones(posture):
    """Lying on the side the walking decomposition is at its gimbal lock (obliquity ±90°)
    and lying on the back its rotation is about the wrong axis; against the start posture
    every posture gives the designed angles."""
    from sacrum.signal.quaternion import matrix_to_quat
    q0 = matrix_to_quat(np.column_stack([np.array(v, float) for v in POSTURES[posture]]))
    assert classify_posture(q0[None]) == posture
    assert (measurement_note(posture) == measurement_note("upright")) == (posture == "upright")
    rng = np.random.default_rng(2)
    a = np.column_stack([rng.uniform(-0.6, 0.6, 50), rng.uniform(-0.3, 0.3, 50),
                         rng.uniform(-0.5, 0.5, 50)])
    q = quat_multiply(q0, relative_quat(*a.T))
    np.testing.assert_allclose(relative_angles(q, q0), a, atol=1e-9)
    if posture.startswith("side-lying"):
        obl = euler_from_matrix(quat_to_matrix(q0))[1]
        assert abs(abs(obl) - math.pi / 2) < 1e-6    # the walking angles' gimbal lock


def test_body_orientation_and_rates_undo_the_mounting():
    ph = exercise_phantom("bridge", mount="x=left,y=down,z=back", reps_per_set=2)
    np.testing.assert_allclose(np.abs(np.sum(body_orientation(ph.q_sensor_to_earth,
                                                              ph.q_sensor_to_body)
                                             * ph.q_body_to_earth, axis=1)), 1.0, atol=1e-9)
    g = body_rates(ph.gyr_radps, ph.q_sensor_to_body)
    assert g.shape == ph.gyr_radps.shape


# ---- every exercise, every mounting: counts exact, excursions within 0.5°, holds 0.2 s ------

@pytest.mark.parametrize("mount", MOUNTS)
@pytest.mark.parametrize("task", REPS + HOLDS)
def test_phantom_in_every_mounting(task, mount):
    ph = exercise_phantom(task, mount=mount, seed=MOUNTS.index(mount), reps_per_set=4,
                          hold_s=(10.0, 8.0))
    seg = _run(ph)
    assert seg.posture == EXERCISES[task].posture and seg.measured
    err = _errors(ph, seg)
    assert err["excursion_deg"] < 0.5 and err["metric_deg"] < 0.5, err
    assert err["extremes_deg"] < 0.5, err
    if ph.holds:
        assert err["hold_s"] < 0.2 and err["lost_s"] < 0.3, err
    else:
        assert err["tempo_s"] < (0.4 if EXERCISES[task].family == "vertical" else 0.3), err


@pytest.mark.parametrize("mount", MOUNTS[:2])
def test_split_squat_depth_from_zero_velocity_updates(mount):
    ph = exercise_phantom("split-squat-right", mount=mount, seed=11)
    q = orientation_offline(ph.acc_mps2, ph.gyr_radps, ph.rate_hz)
    seg = _run(ph, q)
    assert len(seg.reps) == len(ph.reps)
    np.testing.assert_allclose([r.depth_m for r in seg.reps], [r.depth_m for r in ph.reps],
                               atol=0.02)
    assert all(math.isnan(r.peak_rad) for r in seg.reps)


@pytest.mark.parametrize("task", REPS + HOLDS)
def test_phantom_through_the_hosts_offline_fusion(task):
    """From the sensor's acc and gyr (noise, bias) through the offline filter the analysis
    uses: the same counts, excursions within 0.5°, hold times within 0.2 s, the angle
    about the axis that is vertical in the posture (the gyroscope's alone) included: the
    offline filter does not take the slow fault of a hold for gyroscope bias (docs/
    exercises.md, "Angles in any posture")."""
    mount = MOUNTS[sorted(EXERCISES).index(task) % len(MOUNTS)]
    ph = exercise_phantom(task, mount=mount, seed=7)
    q = orientation_offline(ph.acc_mps2, ph.gyr_radps, ph.rate_hz)
    err = _errors(ph, _run(ph, q), vertical_apart=True)
    assert err["excursion_deg"] < 0.5 and err["metric_deg"] < 0.5, err
    assert err["vertical_excursion_deg"] < 0.5 and err["hold_s"] < 0.2, err
    assert err["extremes_deg"] < 0.5, err


def test_a_slow_fault_is_not_learned_as_gyroscope_bias():
    """The cause of the lying postures' heading error (issue 16 item 7): a bridge hold
    sinking slowly (7.5° over 6 s) deviates little from the rest detector's low-passes,
    read as stillness, its rate learned as bias, and the angle about the vertical drifted
    by 1°. The rest detector now also asks that gravity, low-passed, did not move by
    more than 1° since the still run began: the bias stays at the true one (without
    that test it does not), and the angle about the vertical is within 0.5° (it was 1°)."""
    ph = exercise_phantom("bridge-hold", mount="recommended", seed=0)
    true_bias = np.deg2rad([0.15, -0.2, 0.1])
    acc, gyr = np.ascontiguousarray(ph.acc_mps2), np.ascontiguousarray(ph.gyr_radps)
    end = ph.t_s > ph.holds[0].t_end_s
    errs = []
    for drift in (math.inf, 0.17):
        f = OrientationFilter(ph.rate_hz, rest_drift_th_mps2=drift)
        _, bias, _ = f._run(acc, gyr)
        errs.append(np.degrees(np.abs(bias[end] - true_bias).max()))
    assert errs[0] > 0.3 and errs[1] < 0.2, errs
    q = orientation_offline(ph.acc_mps2, ph.gyr_radps, ph.rate_hz)
    err = _errors(ph, _run(ph, q), vertical_apart=True)
    assert err["vertical_excursion_deg"] < 0.5, err


def test_phantom_through_a_capture(tmp_path):
    """A capture as a device would stream it (quantised, BLE segments at MTU 23, timing,
    clock drift): the decoded orientation gives the same repetitions."""
    path = tmp_path / "bridge.sacrum"
    ph = exercise_capture(path, "single-leg-bridge-left", mount="upside-down", mtu=23,
                          seed=3)
    table = decode_capture(path)
    assert table.loss.samples_lost == 0
    q = np.full_like(ph.q_sensor_to_earth, np.nan)
    q[:len(table)] = table.q
    err = _errors(ph, _run(ph, q))
    assert err["excursion_deg"] < 0.5 and err["metric_deg"] < 0.5, err


@pytest.mark.parametrize("task", ["bridge", "plank", "bridge-hold"])
def test_firmware_in_the_loop(tmp_path, task):
    """The phantom's IMU signals through the real firmware under MicroPython, decoded, the
    capture's samples through the offline filter (as the analysis does): the same counts,
    excursions within 0.5°, hold times within 0.2 s."""
    ph = exercise_phantom(task, mount="recommended", seed=5,
                          reps_per_set=3, hold_s=(8.0, 6.0))
    q = firmware_orientation(ph, tmp_path / f"{task}.sacrum")
    err = _errors(ph, _run(ph, q))
    assert err["excursion_deg"] < 0.5 and err["metric_deg"] < 0.5, err
    assert err["extremes_deg"] < 0.5, err
    assert err["hold_s"] < 0.2, err


# ---- streaming -----------------------------------------------------------------------------

@pytest.mark.parametrize("task", ["bridge", "bird-dog", "split-squat-right",
                                  "clamshell-left"])
def test_repetitions_are_chunk_invariant(task):
    ph = exercise_phantom(task, reps_per_set=3, seed=4)
    qb = body_orientation(ph.q_sensor_to_earth, ph.q_sensor_to_body)

    def check(proc, reps):
        assert len(reps) == len(ph.reps)
    assert_chunk_invariant(lambda: RepetitionSegmenter(task, ph.rate_hz),
                           [ph.t_s, qb, ph.gyr_body_radps, ph.acc_body_mps2],
                           (7, (1, 37, 0, 250), random_sizes(task.__len__())), atol=1e-9,
                           check=check)


def test_holds_are_chunk_invariant():
    ph = exercise_phantom("side-plank-right", seed=4, hold_s=(6.0, 5.0))
    qb = body_orientation(ph.q_sensor_to_earth, ph.q_sensor_to_body)
    assert_chunk_invariant(lambda: HoldSegmenter("side-plank-right", ph.rate_hz),
                           [ph.t_s, qb, ph.gyr_body_radps], (5, (1, 37, 0, 250)), atol=1e-9,
                           check=lambda proc, holds: len(holds) == 2)


def test_a_hold_in_progress_is_reported_live():
    ph = exercise_phantom("plank", seed=1)
    qb = body_orientation(ph.q_sensor_to_earth, ph.q_sensor_to_body)
    seg = HoldSegmenter("plank", ph.rate_hz)
    i = int(np.searchsorted(ph.t_s, ph.holds[0].t_start_s + 5.0))
    assert seg.update(ph.t_s[:i], qb[:i], ph.gyr_body_radps[:i]) == []
    cur = seg.current()
    assert cur is not None and abs(cur["t_start_s"] - ph.holds[0].t_start_s) < 0.2
    assert 4.0 < cur["held_s"] <= 5.0


def test_the_repetition_in_progress_is_reported_live():
    ph = exercise_phantom("single-leg-bridge-right", seed=1)
    qb = body_orientation(ph.q_sensor_to_earth, ph.q_sensor_to_body)
    seg = RepetitionSegmenter(ph.task, ph.rate_hz)
    r = ph.reps[1]
    i = int(np.searchsorted(ph.t_s, r.t_release_s))      # holding at the top
    seg.update(ph.t_s[:i], qb[:i], ph.gyr_body_radps[:i])
    cur = seg.current()
    assert cur["in_repetition"] and cur["n_full"] == 1
    assert abs(cur["t_onset_s"] - r.t_start_s) < 0.5
    drop = cur["metrics_rad"]["unsupported_drop_rad"]
    assert abs(math.degrees(drop) - r.metrics_deg["unsupported_drop_deg"]) < 0.5
    j = int(np.searchsorted(ph.t_s, r.t_end_s + 1.0))    # back at rest
    seg.update(ph.t_s[i:j], qb[i:j], ph.gyr_body_radps[i:j])
    assert not seg.current()["in_repetition"] and seg.current()["n_full"] == 2


# ---- lost samples and bad input ------------------------------------------------------------

def test_lost_samples_inside_a_repetition_are_flagged_not_fatal():
    ph = exercise_phantom("bridge", seed=2)
    q = ph.q_sensor_to_earth.copy()
    r = ph.reps[1]
    gap = (ph.t_s > r.t_top_s) & (ph.t_s < r.t_top_s + 0.5)
    q[gap] = np.nan
    seg = _run(ph, q)
    assert len(seg.reps) == len(ph.reps)
    assert seg.reps[1].messages and not seg.reps[0].messages


def test_no_movement_gives_no_repetitions_and_says_so():
    t = np.arange(2000) / 100.0
    q = np.tile([1.0, 0, 0, 0], (2000, 1))
    seg = RepetitionSegmenter("bird-dog", 100.0)
    seg.update(t, q, np.zeros((2000, 3)))
    assert seg.flush() == [] and seg.reps == [] and seg.messages


def test_wrong_arguments_are_refused():
    with pytest.raises(ValueError):
        segmenter("push-up", 100.0)
    with pytest.raises(ValueError):
        RepetitionSegmenter("plank", 100.0)
    with pytest.raises(ValueError):
        HoldSegmenter("bridge", 100.0)
    seg = RepetitionSegmenter("split-squat-left", 100.0)
    with pytest.raises(ValueError):
        seg.update(np.zeros(3), np.tile([1.0, 0, 0, 0], (3, 1)), np.zeros((3, 3)))


# ---- per set: summary and score ------------------------------------------------------------

def test_set_summary_counts_scores_and_the_score_falls_with_poorer_control():
    scores = []
    bands = load_exercise_bands()
    bands["score"]["max_interval_width"] = 100.0     # never withheld for its interval here
    for scale in (0.3, 1.0, 1.8):
        ph = exercise_phantom("single-leg-bridge-right", seed=6, fault_scale=scale)
        qb = body_orientation(ph.q_sensor_to_earth, ph.q_sensor_to_body)
        res = analyse_exercise(ph.task, ph.t_s, qb, ph.gyr_body_radps, rate_hz=ph.rate_hz,
                               bands=bands)
        sets = res.sets
        assert [s.n_repetitions for s in sets] == [5, 5] and [s.n_partial for s in sets] == [1, 1]
        truth = [np.median([r.metrics_deg["unsupported_drop_deg"] for r in ph.reps
                            if r.set_index == k and not r.partial]) for k in (0, 1)]
        np.testing.assert_allclose([s.medians["unsupported_drop_deg"] for s in sets], truth,
                                   atol=0.5)
        assert all(s.provisional for s in sets)
        table = res.table()
        assert len(table) == len(ph.reps) and table["partial"].sum() == 2
        np.testing.assert_allclose(table["unsupported_drop_deg"],
                                   [r.metrics_deg["unsupported_drop_deg"] for r in ph.reps],
                                   atol=0.5)
        assert list(res.sets_table()["n_repetitions"]) == [5, 5]
        scores.append(np.mean([s.score for s in sets]))
    assert scores[0] > scores[1] > scores[2]


def test_fatigue_trend_and_left_right():
    ph = exercise_phantom("dead-bug", seed=8, fault_growth=0.15, reps_per_set=6)
    qb = body_orientation(ph.q_sensor_to_earth, ph.q_sensor_to_body)
    res = analyse_exercise(ph.task, ph.t_s, qb, ph.gyr_body_radps, rate_hz=ph.rate_hz)
    for s in res.sets:
        assert s.fatigue_slope > 0
        assert set(s.by_side) == {"L", "R"} and math.isfinite(s.lr_difference_deg)
        assert "fatigue" in s.items


def test_holds_summary_has_the_hold_time_and_when_control_was_lost():
    ph = exercise_phantom("plank", seed=2)
    qb = body_orientation(ph.q_sensor_to_earth, ph.q_sensor_to_body)
    res = analyse_exercise(ph.task, ph.t_s, qb, ph.gyr_body_radps, rate_hz=ph.rate_hz)
    for s, tr in zip(res.sets, ph.holds, strict=True):
        assert abs(s.hold_s - tr.hold_s) < 0.2
        assert abs(s.t_control_lost_s - tr.t_control_lost_s) < 0.3
        assert s.score is not None and 0 <= s.score <= 100


def test_a_set_with_too_few_repetitions_is_not_scored():
    ph = exercise_phantom("bridge", seed=1, reps_per_set=2)
    seg = _run(ph)
    sets = summarise_sets(seg.ex, seg.reps)
    assert all(s.score is None and s.reasons for s in sets)


def _bridge_sets(reps_per_set: int, bands=None, seed: int = 6):
    ph = exercise_phantom("single-leg-bridge-right", seed=seed, reps_per_set=reps_per_set)
    seg = _run(ph)
    return summarise_sets(seg.ex, seg.reps, bands)


def test_set_score_interval_from_a_bootstrap_over_repetitions():
    """Item 3: each set's score has a 90 % interval from resampling its repetitions; it
    holds the score, it narrows as the set has more repetitions (the same movements), the
    same seed gives the same interval, and the set's table has it."""
    bands = load_exercise_bands()
    bands["score"]["max_interval_width"] = 100.0
    few, many = _bridge_sets(4, bands), _bridge_sets(16, bands)
    for s in few + many:
        lo, hi = s.score_interval
        assert lo <= s.score <= hi and 0 <= lo <= hi <= 100 and s.score_interval_level == 0.9
        assert s.score_interval_reason is None and len(s.replicates) == 1000
    width = [np.mean([s.score_interval[1] - s.score_interval[0] for s in sets])
             for sets in (few, many)]
    assert width[1] < width[0]
    again = _bridge_sets(4, bands)
    assert [s.score_interval for s in again] == [s.score_interval for s in few]
    bands["score"]["seed"] = 1
    other = _bridge_sets(4, bands)
    assert not np.array_equal(other[0].replicates, few[0].replicates)
    assert [s.score for s in other] == [s.score for s in few]


def test_too_wide_an_interval_withholds_the_set_score_with_the_reason():
    bands = load_exercise_bands()
    bands["score"]["max_interval_width"] = 100.0
    sets = _bridge_sets(4, bands)
    width = min(s.score_interval[1] - s.score_interval[0] for s in sets)
    assert width > 0
    bands["score"]["max_interval_width"] = 0.5 * width
    narrow = _bridge_sets(4, bands)
    for s, kept in zip(narrow, sets, strict=True):
        assert s.score is None and s.score_interval == kept.score_interval
        assert s.score_interval_reason and s.score_interval_reason in s.reasons


def test_a_hold_score_has_no_interval_and_says_why():
    ph = exercise_phantom("plank", seed=2)
    seg = _run(ph)
    for s in summarise_sets(seg.ex, seg.holds):
        assert s.score is not None and s.score_interval is None and s.score_interval_reason


def test_bands_file_is_checked(tmp_path):
    bad = tmp_path / "b.toml"
    bad.write_text('[control.bridge]\nmetric = "unlevel_deg"\nnormal_max = 5.0\n'
                   'poor_max = 3.0\nsource = "x"\n')
    with pytest.raises(ValueError):
        load_exercise_bands(bad)
    bands = load_exercise_bands()
    assert {b for b in bands["control"]} == {e.base for e in EXERCISES.values()}


# ---- the mounting in the capture (issue 16 item 4) -----------------------------------------

def test_a_capture_that_records_its_mounting_is_analysed_without_mount(tmp_path):
    """A capture with a ``mounting`` annotation (protocol/SPEC.md §5.2, as ``sacrum
    exercise`` writes it) gives, without ``--mount``, the answer of ``--mount`` with that
    mounting, and says where the mounting came from; a sideways mounting, so the
    recommended one (or a standing estimate) would give other angles."""
    import sacrum
    from sacrum.signal.mounting import parse_mount

    mount = "x=left,y=down,z=back"
    ann = [(0.5, {"type": "mounting", "spec": mount,
                  "q_sensor_to_body": [float(v) for v in parse_mount(mount)],
                  "source": "given"})]
    path = tmp_path / "bridge.sacrum"
    exercise_capture(path, "bridge", mount=mount, reps_per_set=3, seed=4, annotations=ann)
    got = sacrum.analyze(path, task="bridge")
    want = sacrum.analyze(path, task="bridge", mount=mount)
    assert got.mounting["source"] == "recorded" and got.mounting["recorded_source"] == "given"
    assert got.mounting["spec"] == mount
    np.testing.assert_allclose(got.mounting["q_sensor_to_body"], parse_mount(mount))
    assert len(got.repetitions) == 2 * 4      # 3 full and one partial a set
    cols = [c for c in want.repetitions.columns if c.endswith("_deg")]
    np.testing.assert_array_equal(got.repetitions[cols].to_numpy(),
                                  want.repetitions[cols].to_numpy())
    other = sacrum.analyze(path, task="bridge", mount="recommended")   # --mount overrides
    assert other.mounting["source"] == "given"
    o, w = other.repetitions, want.repetitions
    assert len(o) != len(w) or not np.allclose(o.tilt_excursion_deg, w.tilt_excursion_deg)


def test_the_capture_writer_refuses_a_mounting_that_is_no_rotation(tmp_path):
    from sacrum.io.capture import CaptureWriter, default_header

    with CaptureWriter(tmp_path / "m.sacrum", default_header()) as w:
        w.mounting("recommended", [1.0, 0.0, 0.0, 0.0], "given")
        for q in ([1.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0], [math.nan, 0, 0, 1]):
            with pytest.raises(ValueError, match="unit quaternion"):
                w.mounting("x", q, "given")


def test_the_extremes_carry_an_excursion_that_went_as_far_each_way():
    """An angle swinging 0.3° either side of the start, with a heading drift of ±0.05° over
    the repetition: the signed excursion jumps between the two extremes (by 0.6°), the
    extremes themselves move by the drift only."""
    from sacrum.scoring.exercises.catalogue import exercise
    from sacrum.scoring.exercises.control import control_metrics

    ex = exercise("bird-dog")
    t = np.linspace(0.0, 3.0, 301)
    out = []
    for drift_deg in (-0.05, 0.05):
        obl = D(0.3) * np.sin(2 * np.pi * t / 3.0) + D(drift_deg) * t / 3.0
        q = relative_quat(np.zeros_like(t), obl, np.zeros_like(t))
        out.append(control_metrics(ex, q, np.zeros((len(t), 3)), np.array([1.0, 0, 0, 0]),
                                   100.0))
    a, b = (math.degrees(o["obliquity_excursion_rad"]) for o in out)
    assert a * b < 0 and abs(a - b) > 0.55          # the signed value flips
    for k in ("obliquity_excursion_min_rad", "obliquity_excursion_max_rad"):
        assert abs(math.degrees(out[0][k] - out[1][k])) < 0.11   # the extremes do not
    assert math.degrees(out[0]["tilt_excursion_min_rad"]) == 0.0   # never went that way


def test_the_report_draws_each_excursion_with_its_extremes():
    """The repetition chart's excursion bar (signed) carries a line from the angle's
    smallest to its largest deviation, so a therapist sees how far it went each way."""
    from sacrum.apps.report.exercises import repetition_chart

    rep = {"index": 0, "side": "L", "partial": False, "t_start_s": 1.0, "t_end_s": 3.0,
           "lumbopelvic_motion_deg": 3.0}
    for a, (lo, hi) in {"tilt": (-0.2, 1.5), "obliquity": (-0.3, 0.28),
                        "rotation": (0.0, 3.0)}.items():
        rep.update({f"{a}_excursion_deg": hi if hi >= -lo else lo,
                    f"{a}_excursion_min_deg": lo, f"{a}_excursion_max_deg": hi})
    fig = repetition_chart({"task": "bird-dog", "exercise": {
        "exercise": "bird-dog", "repetitions": [rep], "sets": [],
        "metrics": {"lumbopelvic_motion_deg": "the largest rotation"}}})
    lines = {c.get_gid(): c for ax in fig.axes for c in ax.collections if c.get_gid()}
    (seg,) = lines["range-0-obliquity"].get_segments()
    assert sorted(seg[:, 1]) == pytest.approx([-0.3, 0.28])

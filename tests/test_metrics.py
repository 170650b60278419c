"""sacrum.scoring.metrics: per-step pelvic metrics and their per-task summary.

The fixture is a pelvis-motion phantom (issue 5, "Validation"): pelvic angles with a known
contralateral drop per step (4° in left stance, 9° in right stance, ±0.5° from step to step),
known tilt and rotation, step times with a known left-right difference and variability,
and the sacral accelerations that go with walking (a heel-strike transient and a push-off
bump per step as in tests/test_gait.py, vertical bounce and forward acceleration at the step
frequency, medio-lateral sway at the stride frequency, a little left-right asymmetry). They
become IMU signals (specific force with gravity, angular rate from the orientation) of a
sensor in the recommended mounting or tilted 20° off vertical, with noise, gyroscope and
accelerometer biases, and go through the whole pipeline (orientation, standing
calibration, heading, gait events) before the metrics. The real recording is the bundled
Mobilise-D example (examples/README.md).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from sacrum.apps.cli import DEMO_CAPTURE
from sacrum.io.decode import decode_capture
from sacrum.scoring.metrics import (
    StepMetrics,
    StepMetricsStream,
    body_acceleration,
    step_metrics,
    stride_curve,
    summarize_walk,
    symmetry_index,
)
from sacrum.signal.gait import GaitEvent, Turn
from sacrum.signal.mounting import parse_mount
from sacrum.signal.pipeline import Pipeline, analyze_recording
from sacrum.signal.quaternion import quat_conjugate, quat_multiply, quat_rotate
from sacrum.testing.walking_phantom import walking_phantom
from streaming import bounds, random_sizes

RATE = 100.0
G = 9.80665
RECOMMENDED = parse_mount("recommended")


phantom = walking_phantom


def _tilted(deg: float, axis=(0.0, 1.0, 0.0)) -> np.ndarray:
    """The recommended mounting turned by ``deg`` about a body axis (y: the sacral slope)."""
    ax = np.asarray(axis, float) / np.linalg.norm(axis)
    q = np.r_[math.cos(math.radians(deg) / 2), math.sin(math.radians(deg) / 2) * ax]
    return quat_multiply(q, RECOMMENDED)


MOUNTS = {"recommended": RECOMMENDED, "tilted 20° (sacral slope)": _tilted(20.0),
          "tilted 20° about an oblique axis": _tilted(20.0, (1.0, 1.0, 0.0))}


def _through_pipeline(ph: dict, q_sensor_to_body=RECOMMENDED):
    res = analyze_recording(ph["t"], ph["acc"], ph["gyr"], RATE,
                            q_sensor_to_body=q_sensor_to_body)
    steps = step_metrics(res.t_s, res.angles_rad, res.events, res.gait.strides,
                         res.gait.turns)
    acc_body = body_acceleration(res.q_sensor_to_earth, ph["acc"], res.heading_rad)
    summary = summarize_walk(steps, res.t_s, res.angles_rad, acc_body, res.gait.strides)
    return res, steps, summary


def _known(ph: dict, steps: list[StepMetrics]) -> dict:
    """The phantom's values for the used steps (matched by IC time)."""
    used = [s for s in steps if s.excluded is None]
    k = np.array([int(np.argmin(np.abs(ph["t_ic"] - s.t_ic_s))) for s in used])
    side = ph["sides"][k]
    d, ts = ph["drop"], ph["t_step"]
    known = {"k": k, "side": side,
             "drop": {sd: float(np.median(d[k[side == sd]])) for sd in "LR"},
             "obliquity_rom": {sd: float(np.median(d[k[side == sd]] + d[k[side == sd] + 1]))
                               for sd in "LR"},
             "step_time": {sd: float(np.mean(ts[k[side == sd]])) for sd in "LR"},
             "cadence": 60.0 / float(np.mean(ts[k])),
             "step_time_cv": float(np.mean([np.std(ts[k[side == sd]], ddof=1)
                                            / np.mean(ts[k[side == sd]]) * 100 for sd in "LR"])),
             "drop_sd": math.sqrt(float(np.mean([np.var(d[k[side == sd]], ddof=1)
                                                 for sd in "LR"])))}
    known["si_drop"] = symmetry_index(known["drop"]["L"], known["drop"]["R"])
    known["si_step_time"] = symmetry_index(known["step_time"]["L"], known["step_time"]["R"])
    return known


# ---- the metric definitions on exact angles ----------------------------------------------

def test_definitions_on_the_exact_phantom_angles():
    """Without the pipeline: the phantom's own angles and ICs give back exactly what was put
    in: each step's drop (peak at 35 % of the step), the stride's ranges (peak to peak when
    asked for: rom_percentiles 0-100), the mean tilt."""
    ph = phantom(n_steps=20)
    steps = step_metrics(ph["t"], ph["angles"], ph["events"], rom_percentiles=(0.0, 100.0))
    assert len(steps) == 20                          # the last IC starts no step
    assert [s.excluded for s in steps] == ["bout-edge"] + [None] * 18 + ["bout-edge"]
    for k, s in enumerate(steps):
        assert s.stance_side == ph["sides"][k]
        assert s.step_time_s == pytest.approx(ph["t_step"][k], abs=1e-9)
        assert s.contralateral_drop_deg == pytest.approx(ph["drop"][k], abs=0.02)
        assert s.drop_time_pct == pytest.approx(35.0, abs=2.0)
        assert s.mean_tilt_deg == pytest.approx(ph["tilt_mean"], abs=0.05)
        if k < 19:
            assert s.stride_time_s == pytest.approx(ph["t_step"][k] + ph["t_step"][k + 1])
            assert s.obliquity_rom_deg == pytest.approx(ph["drop"][k] + ph["drop"][k + 1],
                                                        abs=0.03)    # 10-ms sampling
            assert s.tilt_rom_deg == pytest.approx(2 * ph["tilt_amp"], abs=0.01)
            assert s.rotation_rom_deg == pytest.approx(2 * ph["rot_amp"], abs=0.01)
        else:
            assert math.isnan(s.stride_time_s) and math.isnan(s.obliquity_rom_deg)


def test_ranges_of_motion_ignore_a_heel_strike_transient():
    """The default range is the 5th-95th percentile span: a 3-sample yaw jolt at each heel
    strike moves peak to peak by the jolt, the robust range by almost nothing; on the clean
    sinusoid the two differ by about 1 % (the definition, docs/scoring.md)."""
    ph = phantom(n_steps=20)
    clean = step_metrics(ph["t"], ph["angles"], ph["events"])
    ptp = step_metrics(ph["t"], ph["angles"], ph["events"], rom_percentiles=(0.0, 100.0))
    jolted = ph["angles"].copy()
    for e in ph["events"]:
        if e.kind == "IC":
            i = int(np.searchsorted(ph["t"], e.t_s))
            jolted[i:i + 3, 2] += math.radians(4.0)
    robust = step_metrics(ph["t"], jolted, ph["events"])
    raw = step_metrics(ph["t"], jolted, ph["events"], rom_percentiles=(0.0, 100.0))
    for c, p, r, w in zip(clean[1:-1], ptp[1:-1], robust[1:-1], raw[1:-1], strict=True):
        assert c.rotation_rom_deg == pytest.approx(p.rotation_rom_deg, rel=0.02)
        assert c.rotation_rom_deg < p.rotation_rom_deg
        assert abs(r.rotation_rom_deg - c.rotation_rom_deg) < 0.5
        assert w.rotation_rom_deg > p.rotation_rom_deg + 2.0


def test_drop_sign_follows_the_swing_side():
    """Left stance: the right side drops = positive obliquity; right stance: negative."""
    t = np.arange(300) / RATE
    ev = [GaitEvent(0.5, "IC", "L", 0), GaitEvent(1.0, "IC", "R", 0),
          GaitEvent(1.5, "IC", "L", 0), GaitEvent(2.0, "IC", "R", 0)]
    angles = np.zeros((300, 3))
    angles[60, 1] = math.radians(3.0)     # left stance: right side 3° down
    angles[110, 1] = math.radians(-5.0)   # right stance: left side 5° down
    angles[160, 1] = math.radians(-2.0)   # left stance, left side down: a hip hike
    s = step_metrics(t, angles, ev)
    assert [x.stance_side for x in s] == ["L", "R", "L"]
    assert s[0].contralateral_drop_deg == pytest.approx(3.0)
    assert s[0].drop_time_pct == pytest.approx(20.0)
    assert s[1].contralateral_drop_deg == pytest.approx(5.0)
    assert s[2].contralateral_drop_deg == pytest.approx(0.0)   # never below standing
    # the drop window is the first 60 % of the step: a drop at 80 % does not count
    angles2 = np.zeros((300, 3))
    angles2[90, 1] = math.radians(6.0)
    assert step_metrics(t, angles2, ev)[0].contralateral_drop_deg == pytest.approx(0.0)


def test_symmetry_index_definition():
    assert symmetry_index(4.0, 9.0) == pytest.approx(100 * 5 / 6.5)      # 76.9 %
    assert symmetry_index(9.0, 4.0) == symmetry_index(4.0, 9.0)
    assert symmetry_index(5.0, 5.0) == 0.0
    assert math.isnan(symmetry_index(1.0, -2.0))
    assert math.isnan(symmetry_index(math.nan, 2.0))


def test_harmonic_ratio_and_regularity_of_known_signals():
    """HR = Σ even / Σ odd harmonic amplitudes (AP, V), odd / even (ML); regularity = the
    normalised unbiased autocorrelation at one step and one stride."""
    t_step = 0.5
    n = 40
    t = np.arange(round(n * t_step * RATE) + 1) / RATE
    ev = [GaitEvent(k * t_step, "IC", "LR"[k % 2], 0) for k in range(n + 1)]
    stride_phase = 2 * np.pi * t / (2 * t_step)
    acc = np.zeros((len(t), 3))
    acc[:, 0] = 2.0 * np.sin(2 * stride_phase) + 1.0 * np.sin(stride_phase)       # HR 2
    acc[:, 1] = 3.0 * np.sin(stride_phase) + 1.0 * np.sin(2 * stride_phase)       # HR 3
    acc[:, 2] = np.cos(2 * stride_phase) + 0.5 * np.cos(stride_phase)            # HR 2
    steps = step_metrics(t, np.zeros((len(t), 3)), ev)
    s = summarize_walk(steps, t, np.zeros((len(t), 3)), acc)
    assert s.harmonic_ratio["ap"] == pytest.approx(2.0, rel=1e-3)
    assert s.harmonic_ratio["ml"] == pytest.approx(3.0, rel=1e-3)
    assert s.harmonic_ratio["v"] == pytest.approx(2.0, rel=1e-3)
    # V = cos(step) + 0.5 cos(stride): A(step) = (1 - 0.25) / (1 + 0.25), A(stride) = 1
    assert s.regularity["step_v"] == pytest.approx(0.6, abs=0.03)
    assert s.regularity["stride_v"] == pytest.approx(1.0, abs=0.03)


def test_body_acceleration_rotates_removes_gravity_and_follows_the_heading():
    q_sensor_to_body = RECOMMENDED                 # x up, y left, z back
    heading = math.radians(90.0)                   # walking towards earth +y
    q_body_to_earth = np.array([math.cos(heading / 2), 0, 0, math.sin(heading / 2)])
    q = quat_multiply(q_body_to_earth, q_sensor_to_body)[None, :]
    # 1 m/s² forward, 0.5 left, 2 up, plus gravity, as the sensor sees it
    a_earth = np.array([[-0.5, 1.0, 2.0 + G]])
    acc = quat_rotate(quat_conjugate(q), a_earth)
    np.testing.assert_allclose(body_acceleration(q, acc, heading), [[1.0, 0.5, 2.0]],
                               atol=1e-12)
    nan = body_acceleration(np.full((1, 4), np.nan), acc, heading)
    assert np.isnan(nan).all()


# ---- the phantom through the whole pipeline ------------------------------------------------

@pytest.mark.parametrize("mount", list(MOUNTS))
def test_phantom_through_the_pipeline_recovers_the_known_values(mount):
    """4° vs 9° drop, known ROMs, cadence, symmetry and variability, from IMU signals with
    noise and biases, the sensor mounted as recommended or tilted 20° off vertical (the
    pipeline is told "recommended": the standing calibration levels the tilt)."""
    ph = phantom(mount=MOUNTS[mount])
    res, steps, s = _through_pipeline(ph)
    truth_steps = step_metrics(ph["t"], ph["angles"], ph["events"])
    used = [x for x in steps if x.excluded is None]
    known = _known(ph, steps)
    report = (f"{mount}: cadence {s.cadence_spm:.2f} (known {known['cadence']:.2f}); drop "
              f"{s.contralateral_drop_deg} (known {known['drop']}); obliquity ROM "
              f"{s.obliquity_rom_deg} (known {known['obliquity_rom']}); tilt ROM "
              f"{s.tilt_rom_deg}; rotation ROM {s.rotation_rom_deg}; SI {s.symmetry_index}; "
              f"variability {s.variability}; messages {s.messages}")
    # every step found, the sides right, only the two walk edges excluded
    assert len(steps) == len(ph["t_ic"]) - 1, report
    assert len(used) == len(steps) - 2 and s.excluded_reasons == {"bout-edge": 2}, report
    assert all(x.stance_side == ph["sides"][k] for x, k in zip(used, known["k"], strict=True))
    # per step: the drop within ±0.5°, obliquity and tilt ROM within ±0.5° of the truth
    names = ("contralateral_drop_deg", "obliquity_rom_deg", "tilt_rom_deg", "rotation_rom_deg")
    err = np.array([[getattr(x, n) - getattr(truth_steps[k], n) for n in names]
                    for x, k in zip(used, known["k"], strict=True)])
    assert np.abs(ph["t_ic"][known["k"]] - [x.t_ic_s for x in used]).max() <= 0.03
    assert np.abs(err[:, :3]).max() <= 0.5, (np.abs(err).max(axis=0), report)
    # rotation: the first stride after standing is off by about 1° (the pipeline's 1.1-s
    # heading average is still filling), the others within 0.5°
    assert np.abs(err[1:, 3]).max() <= 0.5 and abs(err[0, 3]) <= 1.5, (err[:3, 3], report)
    # per side: median drop and ROMs within ±0.5° of the known values
    for sd in "LR":
        assert s.contralateral_drop_deg[sd] == pytest.approx(known["drop"][sd], abs=0.5), report
        assert s.obliquity_rom_deg[sd] == pytest.approx(known["obliquity_rom"][sd],
                                                        abs=0.5), report
        assert s.tilt_rom_deg[sd] == pytest.approx(2 * ph["tilt_amp"], abs=0.5), report
        assert s.rotation_rom_deg[sd] == pytest.approx(2 * ph["rot_amp"], abs=0.5), report
    assert s.mean_tilt_deg == pytest.approx(ph["tilt_mean"], abs=0.5), report
    assert s.cadence_spm == pytest.approx(known["cadence"], abs=1.0), report
    # symmetry: as defined, from the per-side values, and near the known asymmetry
    assert s.symmetry_index["drop"] == symmetry_index(s.contralateral_drop_deg["L"],
                                                      s.contralateral_drop_deg["R"])
    assert s.symmetry_index["drop"] == pytest.approx(known["si_drop"], abs=6.0), report
    assert s.symmetry_index["step_time"] == pytest.approx(known["si_step_time"], abs=1.5)
    assert s.symmetry_index["obliquity_rom"] < 2.0, report      # a stride holds both drops
    # variability, roughly: step-time CV within 0.5 points (IC timing adds a little),
    # the drop's stride-to-stride SD within 0.15°
    assert s.variability["step_time_cv_pct"] == pytest.approx(known["step_time_cv"], abs=0.5)
    assert s.variability["drop_sd_deg"] == pytest.approx(known["drop_sd"], abs=0.15), report
    # regularity and harmonic ratios against those of the phantom's exact acceleration
    exact = summarize_walk(truth_steps, ph["t"], ph["angles"], ph["a_prog"])
    for key, value in exact.regularity.items():
        assert s.regularity[key] == pytest.approx(value, abs=0.03), (key, s.regularity)
    for key, value in exact.harmonic_ratio.items():
        assert s.harmonic_ratio[key] == pytest.approx(value, rel=0.2), (key, s.harmonic_ratio,
                                                                         exact.harmonic_ratio)
    # stance (IC to the same foot's FC, the other foot's push-off bump one step later) from
    # the gait stage's strides
    k, ts = known["k"][:-1], ph["t_step"]
    stance_known = 100 * np.mean((ts[k] + 0.14) / (ts[k] + ts[k + 1]))
    assert s.stance_pct["mean"] == pytest.approx(stance_known, abs=1.5), s.stance_pct
    assert s.stance_pct["mean"] + s.swing_pct["mean"] == pytest.approx(100.0)
    # gait-cycle curves: the mean obliquity curve of each side within 0.2° of the true
    # angles' on the same strides (measured 0.08-0.12°; 0.31-0.37° while the phantom's gyro
    # led its truth by half a sample). Against the truth's own ICs the curves differ by up
    # to 0.7° more: the gait stage times this phantom's ICs 7 ms early (within the 0.03 s
    # asserted above), at the obliquity's 70°/s
    on_found = summarize_walk(step_metrics(res.t_s, ph["angles"], res.events,
                                           res.gait.strides, res.gait.turns),
                              res.t_s, ph["angles"], ph["a_prog"], res.gait.strides)
    for sd in "LR":
        assert s.curves[sd]["n"] >= 35
        diff = (np.array(s.curves[sd]["obliquity_deg"]["mean"])
                - np.array(on_found.curves[sd]["obliquity_deg"]["mean"]))
        assert np.abs(diff).max() <= 0.2, (sd, np.abs(diff).max())
    assert s.messages == ["78 of 80 steps used; excluded: 2 bout-edge"]


@pytest.mark.parametrize("step_s", [0.45, 0.70])
def test_rotation_rom_at_fast_and_slow_cadence(step_s):
    """Offline, the progression heading is the pelvis heading over one stride centred on
    each sample (pipeline.stride_heading), so the rotation ROM holds at 133 and 86
    steps/min (a fixed 1.1-s window read it 1.0° low and 1.6° high)."""
    ph = phantom(step_s=(step_s, step_s), n_steps=40)
    _, _, s = _through_pipeline(ph)
    for sd in "LR":
        assert s.rotation_rom_deg[sd] == pytest.approx(2 * ph["rot_amp"], abs=0.5)


# ---- streaming --------------------------------------------------------------------------------

def _assert_same_steps(a: list[StepMetrics], b: list[StepMetrics], tol: float = 1e-6) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        for name, u in vars(x).items():
            v = getattr(y, name)
            if isinstance(u, float):
                assert u == pytest.approx(v, abs=tol, nan_ok=True), (name, x, y)
            else:
                assert u == v, (name, x, y)


def test_stream_in_chunks_with_the_live_pipeline_gives_the_offline_steps():
    """Live: the pipeline and the metrics stream fed the same random chunks, events as they
    come (up to half a second late), the turns known so far; the same steps as offline, each
    returned within one stride (+ the gait stage's latency) of its IC."""
    ph = phantom(n_steps=30, seed=4)
    acc, gyr = ph["acc"].copy(), ph["gyr"].copy()
    i_gap = int(np.searchsorted(ph["t"], ph["t_ic"][12] + 0.2))
    acc[i_gap:i_gap + 8] = np.nan                  # 80 ms lost: bridged, but a gap for metrics
    gyr[i_gap:i_gap + 8] = np.nan
    t = ph["t"]

    def live(cuts):
        pipe = Pipeline(RATE, RECOMMENDED)
        stream = StepMetricsStream()
        got, when, angles, events = [], [], [], []
        for a, b in itertools.pairwise(cuts):
            out = pipe.update(t[a:b], acc[a:b], gyr[a:b])
            new = stream.update(t[a:b], out.angles_rad, out.events, pipe.gait.turns)
            got += new
            when += [t[a]] * len(new)     # the chunk's first sample: a chunk adds its length
            angles.append(out.angles_rad)
            events += out.events
        last = pipe.flush()
        events += last
        new = stream.update(t[:0], np.zeros((0, 3)), last, pipe.gait.turns) + stream.flush()
        return got + new, when + [t[-1]] * len(new), np.vstack(angles), events

    whole, _, angles, events = live([0, len(t)])
    offline = step_metrics(t, angles, events)
    assert whole == offline
    # 80 ms lost: more than the step metrics bridge (60 ms), so every step whose step or
    # stride holds the lost samples is a "gap" step and no used step has them in it
    # (however many ICs the gait stage finds around the gap)
    t_gap, t_gap_end = t[i_gap], t[i_gap + 7]
    assert len(whole) >= 30 - 2 - 1

    def holds_gap(x):
        end = x.t_ic_s + (x.stride_time_s if math.isfinite(x.stride_time_s) else x.step_time_s)
        return x.t_ic_s <= t_gap_end and end >= t_gap

    assert any(holds_gap(x) for x in whole)
    assert all(x.excluded == "gap" for x in whole if holds_gap(x))
    assert sum(x.excluded is None for x in whole) >= len(whole) - 2 - 5
    chunked, when, _, _ = live([0, *(b for _, b in bounds(len(t), random_sizes(1, 1, 60)))])
    _assert_same_steps(chunked, whole)      # the pipeline's angles agree to ~1e-9 rad
    # latency: one stride + the gait stage's event latency (its first ICs come when the bout
    # is confirmed, at its third IC: the first step a little later)
    for x, w in zip(chunked[1:-1], when[1:-1], strict=True):
        if math.isfinite(x.stride_time_s):
            assert w - x.t_ic_s <= x.stride_time_s + 0.6 + 1e-9, (x, w)
    assert when[0] - chunked[0].t_ic_s <= chunked[0].stride_time_s + 0.7


def _synthetic(n_steps=24, step_s=0.55, seed=0):
    """Exact angles (obliquity ±5° per step) and alternating ICs, no pipeline."""
    rng = np.random.default_rng(seed)
    t_ic = 1.0 + step_s * np.arange(n_steps + 1) + rng.normal(0, 0.005, n_steps + 1)
    t = np.arange(round((t_ic[-1] + 1.0) * RATE)) / RATE
    angles = np.zeros((len(t), 3))
    for k in range(n_steps):
        m = (t >= t_ic[k]) & (t < t_ic[k + 1])
        u = (t[m] - t_ic[k]) / (t_ic[k + 1] - t_ic[k])
        angles[m, 1] = (1 if k % 2 == 0 else -1) * math.radians(5.0) * np.sin(np.pi * u)
        angles[m, 0] = math.radians(1.0) * np.sin(2 * np.pi * u)
        angles[m, 2] = math.radians(4.0) * ((-1) ** k) * np.cos(np.pi * u) * -1
    ev = [GaitEvent(float(x), "IC", "LR"[k % 2], 0) for k, x in enumerate(t_ic)]
    return t, angles, ev


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stream_chunk_invariance_with_late_events_and_turns(seed):
    t, angles, ev = _synthetic(seed=seed)
    angles[400:405] = np.nan      # 5 lost samples: bridged
    angles[250:262] = np.nan      # 12 lost samples: a gap
    turns = [Turn(6.0, 7.5, 90.0, 40.0)]
    offline = step_metrics(t, angles, ev, turns=turns)
    stream = StepMetricsStream()
    got, delivered = [], 0
    for a, b in bounds(len(t), random_sizes(seed, 1, 80)):
        new_ev = [e for e in ev[delivered:] if e.t_s + 0.5 <= t[b - 1]]   # events 0.5 s late
        delivered += len(new_ev)
        got += stream.update(t[a:b], angles[a:b], new_ev, turns)
    got += stream.update(t[:0], angles[:0], ev[delivered:], turns) + stream.flush()
    assert got == offline
    assert {x.excluded for x in got} == {None, "gap", "turn", "bout-edge"}


def test_walk_ends_bouts_and_irregular_steps():
    t, angles, ev = _synthetic(n_steps=16)
    # a missed step: IC 8 is dropped, so IC 7 (R) is followed by IC 9 (R)
    ev = ev[:8] + ev[9:]
    # a new bout after a pause: ICs 12.. get bout 1
    ev = [replace(e, bout=1) if e.t_s > ev[10].t_s else e for e in ev]
    steps = step_metrics(t, angles, ev)
    by_t = {round(s.t_ic_s, 2): s for s in steps}
    assert by_t[round(ev[7].t_s, 2)].excluded == "irregular"        # R followed by R
    assert by_t[round(ev[8].t_s, 2)].excluded is None               # the walk goes on
    assert by_t[round(ev[0].t_s, 2)].excluded == "bout-edge"        # first step of the walk
    assert by_t[round(ev[9].t_s, 2)].excluded == "bout-edge"        # its stride ends in bout 1
    assert round(ev[10].t_s, 2) not in by_t                          # no next IC in its bout
    assert by_t[round(ev[11].t_s, 2)].excluded == "bout-edge"       # first step of bout 1
    assert round(ev[-1].t_s, 2) not in by_t                          # the last IC: no step
    assert by_t[round(ev[-2].t_s, 2)].excluded == "bout-edge"       # no complete stride
    assert math.isnan(by_t[round(ev[-2].t_s, 2)].obliquity_rom_deg)
    # a step 1.5 times longer than the recent ones is irregular
    _, _, ev2 = _synthetic(n_steps=12, seed=3)
    ev2 = ev2[:6] + [replace(e, t_s=e.t_s + 0.4) for e in ev2[6:]]
    t2 = np.arange(round((ev2[-1].t_s + 1) * RATE)) / RATE
    s2 = step_metrics(t2, np.zeros((len(t2), 3)), ev2)
    assert s2[5].excluded == "irregular" and s2[4].excluded is None


def test_a_walk_that_changes_tempo_is_followed_after_three_steps():
    """Running (0.33-s steps) straight into walking (0.56 s) in one walk: the walking steps
    are off the running's median by more than the band (×1.5), so, as only regular steps
    move the median, they were irregular for ever (a live athlete's walk after a run never
    scored or cued). Three alternating steps in a row off the band, and within it of each
    other, are the walk's tempo now: they stay excluded, the steps after them count; a
    single long step in steady walking is still irregular, and the stream is chunk
    invariant."""
    rng = np.random.default_rng(4)
    steps_s = np.r_[np.full(30, 0.33), np.full(16, 0.56)] + rng.normal(0, 0.004, 46)
    t_ic = 1.0 + np.r_[0.0, np.cumsum(steps_s)]
    ev = [GaitEvent(float(x), "IC", "LR"[k % 2], 0) for k, x in enumerate(t_ic)]
    t = np.arange(round((t_ic[-1] + 1.0) * RATE)) / RATE
    angles = np.zeros((len(t), 3))
    got = step_metrics(t, angles, ev)
    walk = [s for s in got if s.step_time_s > 0.45]
    assert [s.excluded for s in walk[:3]] == ["irregular"] * 3
    assert all(s.excluded is None for s in walk[3:-1]) and len(walk[3:-1]) >= 10
    run = [s for s in got if s.step_time_s < 0.45]
    assert sum(s.excluded is None for s in run) >= 25
    stream = StepMetricsStream()
    chunked, delivered = [], 0
    for a, b in bounds(len(t), random_sizes(2, 1, 80)):
        new_ev = [e for e in ev[delivered:] if e.t_s + 0.5 <= t[b - 1]]   # 0.5 s late
        delivered += len(new_ev)
        chunked += stream.update(t[a:b], angles[a:b], new_ev, [])
    chunked += stream.update(t[:0], angles[:0], ev[delivered:], []) + stream.flush()
    assert chunked == got
    # steady walking with one long step: irregular, and the next steps are regular again
    steady = np.full(20, 0.55) + rng.normal(0, 0.004, 20)
    steady[10] = 0.9
    t_ic = 1.0 + np.r_[0.0, np.cumsum(steady)]
    ev = [GaitEvent(float(x), "IC", "LR"[k % 2], 0) for k, x in enumerate(t_ic)]
    t = np.arange(round((t_ic[-1] + 1.0) * RATE)) / RATE
    s = step_metrics(t, np.zeros((len(t), 3)), ev)
    assert s[10].excluded == "irregular" and s[11].excluded is None


def test_gait_stage_strides_mark_turns_irregular_and_steps_after_the_bout():
    from sacrum.signal.gait import Stride
    t, angles, ev = _synthetic(n_steps=14)
    # the gait stage's bout ends at IC 12: its strides start at ICs 0-10
    st = [Stride(0, ev[k].side, ev[k].t_s, ev[k + 2].t_s, ev[k + 2].t_s - ev[k].t_s, 0.7, 0.4,
                 in_turn=(k == 3), used=(k not in (3, 5))) for k in range(11)]
    steps = step_metrics(t, angles, ev, strides=st)
    # stride 3 turns, its step (no turn object overlaps it) does not: kept without its stride
    assert [s.excluded for s in steps] == (["bout-edge", None, None, None, None, "irregular"]
                                           + [None] * 5 + ["bout-edge"] * 3)
    assert math.isnan(steps[3].stride_time_s) and math.isnan(steps[3].rotation_rom_deg)
    assert math.isfinite(steps[3].contralateral_drop_deg)
    assert math.isfinite(steps[4].stride_time_s)
    s = summarize_walk(steps, t, angles, strides=st)
    assert s.stance_pct["mean"] == pytest.approx(100 * 0.7 / (ev[3].t_s - ev[1].t_s), rel=0.05)


# ---- bad input --------------------------------------------------------------------------------

def test_too_few_steps_give_nan_with_reasons():
    t, angles, ev = _synthetic(n_steps=7)
    steps = step_metrics(t, angles, ev)
    s = summarize_walk(steps, t, angles)
    assert s.n_steps_used == 5 and s.n_steps_by_side == {"L": 2, "R": 3}
    assert s.excluded_reasons == {"bout-edge": 2}
    assert math.isnan(s.contralateral_drop_deg["L"]) and math.isnan(s.contralateral_drop_deg["R"])
    assert all(math.isnan(v) for v in s.symmetry_index.values())
    assert all(math.isnan(v) for v in s.variability.values())
    text = "\n".join(s.messages)
    assert "only 2 left-stance steps used: too few" in text
    assert "only 3 right-stance steps used: too few" in text
    assert "at least 5 needed" in text
    assert "variability: 2 left- and 3 right-stance steps used, at least 15 per side" in text
    assert "acceleration" in text and "not given" in text
    assert s.cadence_spm == pytest.approx(60 / 0.55, rel=0.02)   # 5 steps: enough for cadence


def test_no_steps_and_no_usable_steps():
    t = np.arange(500) / RATE
    s = summarize_walk([], t, np.zeros((500, 3)))
    assert s.n_steps_used == 0 and math.isnan(s.cadence_spm)
    assert s.messages == ["no steps: no walking was found in this task"]
    t, angles, ev = _synthetic(n_steps=8)
    steps = step_metrics(t, angles, ev, turns=[Turn(0.0, 10.0, 180.0, 60.0)])
    s = summarize_walk(steps, t, angles)
    assert s.n_steps_used == 0 and s.excluded_reasons == {"turn": 8}
    assert s.messages[0] == "none of the 8 steps could be used (8 turn): nothing to summarise"


def test_only_one_side_detected():
    t, angles, ev = _synthetic(n_steps=20)
    # a detector that calls every contact left: no step is regular
    steps = step_metrics(t, angles, [replace(e, side="L") for e in ev])
    s = summarize_walk(steps, t, angles)
    assert s.n_steps_used == 0 and set(s.excluded_reasons) <= {"irregular", "bout-edge"}
    assert any("only one side was detected" in m for m in s.messages)
    # right-stance steps all lost in gaps: left values, right NaN, said so
    steps = [x if x.stance_side == "L" else replace(x, excluded="gap")
             for x in step_metrics(t, angles, ev)]
    s = summarize_walk(steps, t, angles)
    assert s.n_steps_by_side == {"L": 9, "R": 0}
    assert s.contralateral_drop_deg["L"] == pytest.approx(5.0, abs=0.01)
    assert math.isnan(s.contralateral_drop_deg["R"]) and math.isnan(s.symmetry_index["drop"])
    assert any("only 0 right-stance steps used" in m for m in s.messages)
    assert any("no right-stance steps at all: only one side was detected" in m
               for m in s.messages)


def test_a_few_lost_samples_are_bridged_and_the_step_kept():
    """Up to max_bridge_s (60 ms: 5 samples at 100 Hz) of lost samples are interpolated: the
    step is used and its drop is that of the complete data to a small fraction of a degree,
    even with the gap on the drop's peak."""
    t, angles, ev = _synthetic(n_steps=20)
    clean = step_metrics(t, angles, ev)
    k = 10
    window = (t >= ev[k].t_s) & (t <= ev[k].t_s + 0.6 * (ev[k + 1].t_s - ev[k].t_s))
    peak = int(np.flatnonzero(window)[np.argmax(np.abs(angles[window, 1]))])
    holed = angles.copy()
    holed[peak - 2:peak + 3] = np.nan
    got = step_metrics(t, holed, ev)
    assert [s.excluded for s in got] == [s.excluded for s in clean]
    assert got[k].contralateral_drop_deg == pytest.approx(clean[k].contralateral_drop_deg,
                                                          abs=0.1)
    assert got[k].obliquity_rom_deg == pytest.approx(clean[k].obliquity_rom_deg, abs=0.1)
    none = step_metrics(t, holed, ev, max_bridge_s=0.0)      # bridging off: a gap
    assert none[k].excluded == "gap"


def test_a_step_before_a_turn_is_kept_without_its_turning_stride():
    """A turn that starts after a step's end but inside its stride: the step's drop and
    timing are straight walking (used), its stride is not (stride time and ranges NaN);
    the steps inside the turn are excluded."""
    t, angles, ev = _synthetic(n_steps=20)
    k = 9
    turn = Turn(ev[k + 1].t_s + 0.05, ev[k + 3].t_s - 0.05, 180.0, 120.0)
    steps = step_metrics(t, angles, ev, turns=[turn])
    assert steps[k].excluded is None
    assert math.isnan(steps[k].stride_time_s) and math.isnan(steps[k].obliquity_rom_deg)
    assert math.isfinite(steps[k].contralateral_drop_deg)
    assert [s.excluded for s in steps[k + 1:k + 3]] == ["turn", "turn"]
    assert steps[k + 3].excluded is None and math.isfinite(steps[k + 3].stride_time_s)


def test_nan_gap_inside_a_step_excludes_it_as_gap():
    t, angles, ev = _synthetic(n_steps=20)
    mid = 0.5 * (ev[10].t_s + ev[11].t_s)
    i = int(np.searchsorted(t, mid))
    angles[i:i + 8] = np.nan      # 80 ms: longer than max_bridge_s
    steps = step_metrics(t, angles, ev)
    gap = [s for s in steps if s.excluded == "gap"]
    # step 10 (the gap in its step), step 9 (in its stride)
    assert [round(s.t_ic_s, 3) for s in gap] == [round(ev[9].t_s, 3), round(ev[10].t_s, 3)]
    assert math.isnan(gap[1].contralateral_drop_deg) or math.isnan(gap[1].mean_tilt_deg)
    assert math.isnan(gap[0].obliquity_rom_deg) and math.isfinite(gap[0].contralateral_drop_deg)
    s = summarize_walk(steps, t, angles)
    assert s.excluded_reasons == {"gap": 2, "bout-edge": 2}
    assert np.isfinite(s.contralateral_drop_deg["L"]) and np.isfinite(s.cadence_spm)
    assert "excluded: 2 gap, 2 bout-edge" in s.messages[0]


def test_input_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="same number of rows"):
        StepMetricsStream().update(np.zeros(3), np.zeros((2, 3)), [])
    with pytest.raises(ValueError, match="drop_window_pct"):
        StepMetricsStream(drop_window_pct=0)
    t, angles, ev = _synthetic(n_steps=8)
    with pytest.raises(ValueError, match="acc_body_mps2 has 3 rows"):
        summarize_walk(step_metrics(t, angles, ev), t, angles, np.zeros((3, 3)))


# ---- a real recording ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def daily():
    table = decode_capture(DEMO_CAPTURE)
    res = analyze_recording(table.t_s, table.acc_mps2, table.gyr_radps, table.rate_hz)
    steps = step_metrics(res.t_s, res.angles_rad, res.events, res.gait.strides,
                         res.gait.turns)
    acc_body = body_acceleration(res.q_sensor_to_earth, table.acc_mps2, res.heading_rad)
    return res, steps, acc_body


def _describe(s) -> str:
    return (f"used {s.n_steps_used} {s.n_steps_by_side}, excluded {s.excluded_reasons}; "
            f"cadence {s.cadence_spm:.1f}/min; drop {s.contralateral_drop_deg}; obliquity ROM "
            f"{s.obliquity_rom_deg}; tilt ROM {s.tilt_rom_deg}; rotation ROM "
            f"{s.rotation_rom_deg}; mean tilt {s.mean_tilt_deg:.1f}, mean obliquity "
            f"{s.mean_obliquity_deg:.1f}; HR {s.harmonic_ratio}; regularity {s.regularity}; "
            f"messages {s.messages}")


def test_real_recording_metrics_are_physiologically_plausible(daily):
    """Mobilise-D HA/001 simulated daily activities (a healthy adult, IMU on a belt at L5).

    Bands (healthy adults): cadence 90-125 steps/min (comfortable walking, Oberg et al.
    1993, J Rehabil Res Dev 30:210-223; the daily-activity walks are short and slow);
    per-stride ranges of motion obliquity 2-15°, tilt 1-10°, rotation 3-25° (marker-based
    pelvis: obliquity about 5-10°, tilt 3-4°, rotation 8-13°, Bruening et al. 2015, Gait
    Posture 41:540-545; a sensor at L5 sees a little less obliquity); harmonic ratios 1.3-5
    (Menz et al. 2003, Gait Posture 18:35-46: healthy pelvis values about 2-4); no drop
    beyond 8° (a healthy peak contralateral drop is about 4-5°, Perry & Burnfield 2010;
    more than 8° is Trendelenburg territory). Turns cover most of these walks: few steps are
    used; per-side values with fewer than 5 steps are NaN with a message.
    """
    res, steps, acc_body = daily
    s = summarize_walk(steps, res.t_s, res.angles_rad, acc_body, res.gait.strides,
                       min_steps_per_side=3)
    info = _describe(s)
    assert s.n_steps_used >= 6 and s.excluded_reasons.get("turn", 0) > 20, info
    assert 90.0 <= s.cadence_spm <= 125.0, info
    for sd in "LR":
        assert 2.0 <= s.obliquity_rom_deg[sd] <= 15.0, info
        assert 1.0 <= s.tilt_rom_deg[sd] <= 10.0, info
        assert 3.0 <= s.rotation_rom_deg[sd] <= 25.0, info
        assert abs(s.contralateral_drop_deg[sd]) <= 8.0, info
    for v in s.harmonic_ratio.values():
        assert 1.3 <= v <= 5.0, info
    # the stricter default needs 5 steps a side, and says why a side is missing
    d = summarize_walk(steps, res.t_s, res.angles_rad, acc_body, res.gait.strides)
    for sd, word in (("L", "left"), ("R", "right")):
        if d.n_steps_by_side[sd] < 5:
            assert math.isnan(d.contralateral_drop_deg[sd]), _describe(d)
            assert any(f"{word}-stance steps used: too few" in m for m in d.messages)
        else:
            assert math.isfinite(d.contralateral_drop_deg[sd]), _describe(d)


@pytest.mark.xfail(strict=True, reason=(
    "this recording has no standing (its only still period is seated and is rejected), so "
    "the zero is the walking mean and the drops are relative ones; the L5 belt sensor sees "
    "an obliquity range of a few degrees (a marker-based pelvis 5-10°), so the drops fall "
    "below the 2° floor: they are not those of a standing-calibrated pelvis"))
def test_real_recording_drop_is_in_the_typical_healthy_range(daily):
    """A healthy adult's peak contralateral drop is about 4-5° (Perry & Burnfield 2010);
    2-7° both sides would be plausible."""
    res, steps, acc_body = daily
    s = summarize_walk(steps, res.t_s, res.angles_rad, acc_body, res.gait.strides,
                       min_steps_per_side=3)
    for sd in "LR":
        assert 2.0 <= s.contralateral_drop_deg[sd] <= 7.0, _describe(s)


@pytest.mark.parametrize("jitter_s", [-3e-5, 0.0, 3e-5])
def test_a_step_on_the_regularity_edge_is_judged_alike_whatever_the_clock_jitter(jitter_s):
    """Step times are known to a sample: a step of exactly median / max_stride_ratio (40
    samples after steps of 60), its end moved by the few µs a device clock moves it, is
    judged alike (a CSV and its capture once gave 2.8 points apart on this)."""
    t_ic = 1.0 + 0.6 * np.arange(10)
    t_ic = np.concatenate([t_ic, t_ic[-1] + 0.4 + jitter_s + 0.6 * np.arange(4)])
    ev = [GaitEvent(float(x), "IC", "LR"[k % 2], 0) for k, x in enumerate(t_ic)]
    t = np.arange(round((t_ic[-1] + 1.0) * RATE)) / RATE
    steps = step_metrics(t, np.zeros((len(t), 3)), ev)
    edge = next(s for s in steps if abs(s.t_ic_s - t_ic[9]) < 1e-9)
    assert edge.excluded is None
    lower = replace(ev[10], t_s=ev[10].t_s - 0.02)   # a sample and more short: irregular
    steps = step_metrics(t, np.zeros((len(t), 3)), [*ev[:10], lower, *ev[11:]])
    assert next(s for s in steps if abs(s.t_ic_s - t_ic[9]) < 1e-9).excluded == "irregular"


def test_a_stride_curve_bridges_the_short_gaps_the_step_metrics_bridge_and_no_longer_ones():
    """A stride with a run of lost samples up to MAX_BRIDGE_S (60 ms) is still a curve,
    bridged linearly as the step metrics bridge it (a lossy recording, 10-16 % in bursts of
    1-4 samples, kept about half its strides out of the gait-cycle curves before); a longer
    run, or one at the recording's end, leaves no curve."""
    fs = 100.0
    t = np.arange(0, 3.0, 1 / fs)
    angles = np.column_stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)])
    pct = np.linspace(0, 100, 101)
    whole = stride_curve(t, angles, 1.0, 1.1, pct)
    assert whole is not None and whole.shape == (2, 101)
    short = angles.copy()
    short[150:155] = np.nan                                    # 5 samples: 60 ms span
    bridged = stride_curve(t, short, 1.0, 1.1, pct)
    assert bridged is not None
    np.testing.assert_allclose(bridged, whole, atol=0.05)
    long = angles.copy()
    long[150:157] = np.nan                                     # 7 samples: 80 ms
    assert stride_curve(t, long, 1.0, 1.1, pct) is None
    edge = angles.copy()
    edge[-3:] = np.nan                                         # no neighbour after it
    assert stride_curve(t, edge, t[-20], 0.19, pct) is None

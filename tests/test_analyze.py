"""`sacrum analyze`: a capture or an IMU CSV to the analysis JSON (docs/analysis-json.md).

Fixtures: the bundled real capture (examples/mobgap_ha001_daily_activities.sacrum:
Mobilise-D HA/001, six marked walks full of turns), its CSV export, and a synthetic
straight walk with a known contralateral drop per side (4° in left stance, 9° in right
stance) written as a capture the way a device would stream it (sacrum.testing.generator).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sacrum.apps.cli import DEMO_CAPTURE, build_parser, main
from sacrum.signal.angles import quat_from_angles
from sacrum.signal.mounting import parse_mount
from sacrum.signal.quaternion import quat_conjugate, quat_multiply, quat_rotate
from sacrum.testing.generator import LinkModel, make_capture
from sacrum.testing.walking_phantom import heel_strike_impact

RATE = 100
G = 9.80665
STRIDE_KEYS = ("stance_side", "t_ic", "contralateral_drop_deg", "obliquity_rom_deg",
               "tilt_rom_deg", "rotation_rom_deg", "excluded", "task")
SUMMARY_KEYS = ("cadence_spm", "contralateral_drop_deg", "symmetry_index", "score",
                "components", "tasks")


@pytest.fixture(scope="module", autouse=True)
def _cli_has_analyze():
    try:
        build_parser().parse_args(["analyze", "in.sacrum", "--json", "out.json"])
    except SystemExit:
        pytest.fail("`sacrum analyze` is not registered: add `analyze.add_parser(sub)` to "
                    "build_parser() in host/sacrum/apps/cli.py")


def _analyze(capsys, *args) -> tuple[int, str, str]:
    rc = main(["analyze", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _no_nan(x) -> None:
    """The document is strict JSON: no NaN anywhere."""
    if isinstance(x, dict):
        for v in x.values():
            _no_nan(v)
    elif isinstance(x, list):
        for v in x:
            _no_nan(v)
    elif isinstance(x, float):
        assert math.isfinite(x)


# ---- the real capture --------------------------------------------------------------------

@pytest.fixture(scope="module")
def daily(tmp_path_factory):
    out = tmp_path_factory.mktemp("analyze") / "daily.json"
    assert main(["analyze", str(DEMO_CAPTURE), "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_the_capture_gives_a_document_with_the_contract_fields(daily):
    for key in ("steps", "summary", "mounting", "calibration", "loss", "messages", "input"):
        assert key in daily
    assert daily["input"]["kind"] == "capture"
    assert daily["steps"], "no steps"
    for s in daily["steps"]:
        for k in STRIDE_KEYS:
            assert k in s
        assert s["stance_side"] in ("L", "R")
    assert {s["stance_side"] for s in daily["steps"]} == {"L", "R"}
    for k in SUMMARY_KEYS:
        assert k in daily["summary"]
    assert set(daily["summary"]["contralateral_drop_deg"]) == {"L", "R"}
    assert set(daily["summary"]["symmetry_index"]) >= {"drop", "obliquity_rom", "step_time"}
    assert daily["mounting"]["source"] == "estimated"
    assert 0 <= daily["mounting"]["confidence"] <= 1
    assert daily["loss"]["samples_lost"] == 0
    _no_nan(daily)


def test_the_capture_steps_are_split_by_its_task_marks(daily):
    walk = daily["summary"]["tasks"]
    assert [t["task"] for t in walk] == ["walk"]
    assert len(walk[0]["segments"]) == 6
    assert all(g["source"] == "annotation" for g in walk[0]["segments"])
    in_walk = [s for s in daily["steps"] if s["task"] == "walk"]
    assert len(in_walk) == walk[0]["n_steps"]
    for s in in_walk:
        assert any(g["t_start_s"] <= s["t_ic"] <= g["t_end_s"] for g in walk[0]["segments"])
    times = [s["t_ic"] for s in daily["steps"]]
    assert times == sorted(times)


def test_the_capture_gets_a_score_with_its_interval(daily):
    """The bundled demo's walk (13 straight steps between turns) is scored, with its 90 %
    interval; the withheld-score paths are tested on phantoms in test_score.py."""
    summ = daily["summary"]
    task = summ["tasks"][0]
    assert task["score"] is not None, task["score_message"]
    assert 0 <= task["score"] <= 100
    assert summ["score"] == pytest.approx(task["score"])
    lo, hi = task["score_interval"]
    assert 0 <= lo <= task["score"] <= hi <= 100
    assert hi - lo <= daily["bands"]["max_interval_width"]
    for c in task["components"].values():
        if c["score"] is not None and c["interval"] is not None:
            assert c["interval"][0] <= c["score"] <= c["interval"][1]
    used = [s for s in daily["steps"] if s["task"] == "walk" and s["excluded"] is None]
    assert task["n_steps_used"] == len(used)
    assert task["n_steps_by_side"] == {
        side: sum(s["stance_side"] == side for s in used) for side in "LR"}


def test_the_turns_are_measured_and_belong_to_their_task(daily):
    """Every turn the gait stage found is in turns[] with its own numbers; the walking
    task's summary counts them; the steps in a turn are the ICs inside it."""
    turns = daily["turns"]
    assert turns, "the daily-activities example turns many times"
    ics = [s["t_ic"] for s in daily["steps"]]
    for i, tr in enumerate(turns):
        assert tr["index"] == i
        assert tr["duration_s"] == pytest.approx(tr["t_end_s"] - tr["t_start_s"])
        assert tr["direction"] in ("left", "right") and tr["angle_deg"] > 0
        assert tr["peak_rate_dps"] >= tr["mean_rate_dps"] > 0
        # steps: ICs inside the turn (the last IC of a walk starts no step, so <=); null
        # when none was found there
        inside = sum(tr["t_start_s"] <= t <= tr["t_end_s"] for t in ics)
        assert inside <= (tr["n_steps"] or 0) and tr["n_steps"] != 0
    walk = daily["summary"]["tasks"][0]
    mine = [tr for tr in turns if tr["task"] == "walk"]
    ts = walk["turns_summary"]
    assert ts["n_turns"] == len(mine)
    assert ts["n_left"] + ts["n_right"] == len(mine)
    assert ts["duration_s"] == pytest.approx(float(np.median([t["duration_s"] for t in mine])))


def test_without_a_standing_calibration_the_angles_are_said_to_be_relative(daily, capsys):
    assert daily["calibration"]["reference"] == "walking"
    assert daily["summary"]["angle_reference"] == "walking"
    assert daily["summary"]["tasks"][0]["angle_reference"] == "walking"
    assert daily["summary"]["mean_tilt_deg"] is None


def test_recordings_of_one_day_pool_into_one_score(phantom):
    """Two walk tests of one day (here the same phantom walk twice): their steps are pooled
    and scored together, with one interval over all of them."""
    from sacrum.analysis import pool_sessions

    one = pool_sessions([phantom])
    two = pool_sessions([phantom, phantom])
    walk = phantom["summary"]["tasks"][0]
    assert one["n_steps_used"] == walk["n_steps_used"]
    assert two["n_steps_used"] == 2 * walk["n_steps_used"]
    assert two["n_steps_by_side"] == {k: 2 * v for k, v in walk["n_steps_by_side"].items()}
    assert one["contralateral_drop_deg"] == pytest.approx(walk["contralateral_drop_deg"])
    assert two["score"] is not None
    lo1, hi1 = one["score_interval"]
    lo2, hi2 = two["score_interval"]
    assert lo2 <= two["score"] <= hi2 and hi2 - lo2 <= hi1 - lo1
    _no_nan(two)


def test_a_slower_trial_is_not_read_as_variability_when_pooled(phantom):
    """The same walk once more at 80 % of the pace: pooled, its stride times are scaled to
    one pace, so the stride-time CV is the within-recording one, not the speed change."""
    import copy

    from sacrum.analysis import pool_sessions

    slow = copy.deepcopy(phantom)
    for x in slow["steps"]:
        for k in ("step_time_s", "stride_time_s"):
            if x[k] is not None:
                x[k] *= 1.25
    one = pool_sessions([phantom])["variability"]["stride_time_cv_pct"]
    two = pool_sessions([phantom, slow])["variability"]["stride_time_cv_pct"]
    assert one is not None and two == pytest.approx(one, rel=0.05)


def test_a_csv_input_works(tmp_path, capsys):
    csv = tmp_path / "daily.csv"
    assert main(["export", str(DEMO_CAPTURE), "--csv", str(csv)]) == 0
    out = tmp_path / "csv.json"
    rc, text, _ = _analyze(capsys, csv, "--task", "walk", "--mount", "recommended",
                           "--json", out)
    assert rc == 0 and "wrote" in text
    doc = json.loads(out.read_text())
    assert doc["input"]["kind"] == "csv"
    assert doc["mounting"]["source"] == "given"
    assert [t["task"] for t in doc["summary"]["tasks"]] == ["walk"]
    assert doc["summary"]["tasks"][0]["segments"][0]["source"] == "option"
    assert {s["stance_side"] for s in doc["steps"]} == {"L", "R"}
    assert all(s["task"] == "walk" for s in doc["steps"])
    _no_nan(doc)


# ---- bad input ----------------------------------------------------------------------------

def _still_csv(path, seconds=5.0):
    rng = np.random.default_rng(0)
    n = int(seconds * RATE)
    acc = np.tile([G, 0.0, 0.0], (n, 1)) + rng.normal(0, 0.02, (n, 3))
    gyr = rng.normal(0, 0.003, (n, 3))
    np.savetxt(path, np.column_stack([np.arange(n) / RATE, acc, gyr]), delimiter=",",
               header="t,ax,ay,az,gx,gy,gz", comments="")


def test_no_walking_without_a_mounting_is_one_clear_line(tmp_path, capsys):
    _still_csv(tmp_path / "still.csv")
    rc, _, err = _analyze(capsys, tmp_path / "still.csv", "--json", tmp_path / "o.json")
    assert rc == 1
    assert err.startswith("sacrum analyze: error:") and err.count("\n") == 1
    assert "walking" in err and "--mount" in err
    assert not (tmp_path / "o.json").exists()


def test_no_walking_with_a_mounting_says_so_in_the_document(tmp_path, capsys):
    _still_csv(tmp_path / "still.csv")
    out = tmp_path / "o.json"
    rc, text, _ = _analyze(capsys, tmp_path / "still.csv", "--mount", "recommended",
                           "--json", out)
    assert rc == 0 and "no score" in text
    doc = json.loads(out.read_text())
    assert doc["steps"] == []
    assert doc["summary"]["score"] is None
    assert doc["summary"]["contralateral_drop_deg"] == {"L": None, "R": None}
    assert any("no walking found" in m for m in doc["messages"])


def test_a_task_without_movement_is_stated(tmp_path, capsys):
    _still_csv(tmp_path / "still.csv")
    out = tmp_path / "o.json"
    rc, _, _ = _analyze(capsys, tmp_path / "still.csv", "--mount", "recommended",
                        "--task", "walk", "--json", out)
    assert rc == 0
    task = json.loads(out.read_text())["summary"]["tasks"][0]
    assert task["n_steps"] == 0 and task["score"] is None
    assert "no steps" in task["score_message"]


def test_a_too_short_csv_is_refused(tmp_path, capsys):
    path = tmp_path / "short.csv"
    path.write_text("t,ax,ay,az,gx,gy,gz\n0,9.81,0,0,0,0,0\n")
    rc, _, err = _analyze(capsys, path, "--mount", "recommended", "--json", tmp_path / "o.json")
    assert rc == 1 and "fewer than two rows" in err


def test_a_bad_bands_file_is_one_line(tmp_path, capsys):
    bands = tmp_path / "b.toml"
    bands.write_text("[components.drop\nweight = 1\n")
    rc, _, err = _analyze(capsys, DEMO_CAPTURE, "--bands", bands, "--json", tmp_path / "o.json")
    assert rc == 1 and "not valid TOML" in err and err.count("\n") == 1


# ---- a synthetic straight walk with a known drop per side ---------------------------------

def _walk_capture(path, drop_l_deg=4.0, drop_r_deg=9.0, n_steps=44, step_s=60 / 105,
                  link=None, marks=True):
    """Stand 3 s, walk ``n_steps`` straight (heading 30°), stand 2 s; mounted as recommended.

    Per step k (left stance for even k, from IC k to IC k+1, phase u in [0, 1)): obliquity
    +drop_l·sin(πu) in left stance (the right side drops), −drop_r·sin(πu) in right stance;
    tilt 2° at the step frequency. Accelerations (progression frame, as tests/test_gait.py's
    phantom): a heel-strike pulse at each IC with its impact (``heel_strike_impact``) and a
    push-off bump after it, vertical and forward oscillations at the step frequency,
    medio-lateral sway towards the landing foot.
    """
    t0 = 3.0
    t_end = t0 + n_steps * step_s + 2.0
    t = np.arange(int(t_end * RATE)) / RATE
    walking = (t >= t0) & (t < t0 + (n_steps - 0.5) * step_s)
    ph = 2 * np.pi * (t - t0) / step_s
    k = np.floor((t - t0) / step_s)
    u = (t - t0) / step_s - k
    inside = (t >= t0) & (k < n_steps)
    left = (k % 2) == 0
    obl = np.where(inside, np.where(left, drop_l_deg, -drop_r_deg) * np.sin(np.pi * u), 0.0)
    tilt = np.where(walking, 2.0 * np.sin(ph), 0.0)
    heading = math.radians(30.0)
    q_be = quat_from_angles(np.radians(tilt), np.radians(obl), np.full_like(t, heading))
    q_se = quat_multiply(q_be, parse_mount("recommended"))
    av = walking * np.sin(ph)
    af = walking * np.cos(ph)
    aml_right = walking * 0.1 * (np.pi / step_s) * np.sin(ph / 2)
    for i in range(n_steps):
        ti = t0 + i * step_s
        av = av + 3.0 * np.exp(-0.5 * ((t - ti - 0.03) / 0.03) ** 2)
        av = av + heel_strike_impact(t, ti, 1.5)   # the impact, as walking_phantom's
        if i < n_steps - 1:
            av = av + 1.0 * np.exp(-0.5 * ((t - ti - 0.25) / 0.03) ** 2)
    c, s = math.cos(heading), math.sin(heading)
    a_e = np.stack([c * af + s * aml_right, s * af - c * aml_right, av + G], axis=1)
    acc = quat_rotate(quat_conjugate(q_se), a_e)
    # angular rate in the sensor frame from the orientation's derivative
    dq = np.gradient(q_se, axis=0) * RATE
    w_s = 2 * quat_multiply(quat_conjugate(q_se), dq)[:, 1:]
    rng = np.random.default_rng(1)
    acc = acc + rng.normal(0, 0.03, acc.shape)
    ann = [(t0 - 0.5, {"type": "task_start", "task": "walk"}),
           (t_end - 1.0, {"type": "task_stop", "task": "walk"})]
    make_capture(path, q_se, acc, w_s, RATE, annotations=ann if marks else (), link=link)


@pytest.fixture(scope="module")
def phantom(tmp_path_factory):
    d = tmp_path_factory.mktemp("phantom")
    _walk_capture(d / "walk.sacrum")
    out = d / "walk.json"
    assert main(["analyze", str(d / "walk.sacrum"), "--mount", "recommended",
                 "--json", str(out)]) == 0
    return json.loads(out.read_text())


def test_the_phantom_drop_comes_back_per_side(phantom):
    assert phantom["calibration"]["calibrated"]
    drop = phantom["summary"]["contralateral_drop_deg"]
    assert drop["L"] == pytest.approx(4.0, abs=0.5)
    assert drop["R"] == pytest.approx(9.0, abs=0.5)
    assert phantom["summary"]["cadence_spm"] == pytest.approx(105.0, abs=1.0)


def test_the_phantom_is_scored_with_every_deduction_explained(phantom):
    summ = phantom["summary"]
    task = summ["tasks"][0]
    assert task["n_steps_by_side"]["L"] >= 10 and task["n_steps_by_side"]["R"] >= 10
    assert task["score"] is not None, task["score_message"]
    drop = task["components"]["drop"]
    # right stance 9°: 2° over the 7° band, 5° from band to poor limit → 60 points
    assert drop["score"] == pytest.approx(60.0, abs=10.0)
    import re

    said = re.search(r"right stance: contralateral drop (-?[0-9.]+)°", drop["reason"])
    assert said and float(said.group(1)) == pytest.approx(9.0, abs=0.5)
    assert "above the 7.0° band" in drop["reason"]
    assert "left stance" not in drop["reason"]  # 4° is within the band: no deduction
    sym = task["components"]["symmetry"]
    # 4° against 9°: compared in degrees, about 5° apart
    assert "left-right difference of the contralateral drop" in sym["reason"]
    assert task["side_difference_deg"]["drop"] == pytest.approx(5.0, abs=0.7)
    assert sym["score"] < 100
    assert 0 < task["score"] < 100
    assert summ["score"] == pytest.approx(task["score"])
    assert summ["components"]["drop"]["score"] == pytest.approx(drop["score"])


def test_a_gap_inside_a_task_is_stated_and_its_steps_excluded(tmp_path):
    # the link loses 0.4 s in the middle of the walk
    _walk_capture(tmp_path / "gap.sacrum", link=LinkModel(outages_s=[(15.0, 15.4)]))
    out = tmp_path / "gap.json"
    assert main(["analyze", str(tmp_path / "gap.sacrum"), "--mount", "recommended",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["loss"]["samples_lost"] > 0 and doc["loss"]["gaps"] == 1
    (t0, dur), = doc["loss"]["gap_list"]
    assert 14.5 < t0 < 15.5 and 0.3 < dur < 0.6
    task = doc["summary"]["tasks"][0]
    assert task["gaps"] and any(m.startswith("walk: 1 gap in the data inside the task")
                                for m in doc["messages"])
    across = [s for s in doc["steps"]
              if s["t_ic"] <= t0 + dur and s["t_ic"] + (s["stride_time_s"] or 1.2) >= t0]
    assert across and all(s["excluded"] is not None for s in across)
    _no_nan(doc)


# ---- single-leg stance and step-down, from the task marks ---------------------------------

def _held_tasks_capture(path, stance_drop_deg=5.0, step_drops_deg=(3, 5, 7, 4, 6)):
    """Stand 3 s; a single-leg-stance-left task (the phantom of tests/test_tasks.py: lift at
    2 s, held 12 s, the right side dropped by ``stance_drop_deg``); stand 1 s; a
    step-down-right task (five repetitions, the left side dropping by ``step_drops_deg``
    + 0.5°). Mounted as recommended, heading 0; the phantoms' body angles and vertical
    acceleration turned into the sensor's signals (gravity added, angular rate from the
    orientation). Returns the capture's task spans (s)."""
    from phantoms import sls_phantom, step_phantom

    t_s, ang_s, _, acc_s, _ = sls_phantom("L", drop_deg=stance_drop_deg)
    t_d, ang_d, acc_d, _ = step_phantom("step-down", "R", drops_deg=step_drops_deg)
    quiet = np.zeros((3 * RATE, 3))
    pause = np.zeros((1 * RATE, 3))
    angles = np.vstack([quiet, ang_s, pause, ang_d])
    acc_v = np.r_[np.zeros(3 * RATE), acc_s[:, 2], np.zeros(RATE), acc_d[:, 2]]
    stance = (3.0, 3.0 + len(t_s) / RATE)
    step = (stance[1] + 1.0, stance[1] + 1.0 + len(t_d) / RATE)
    n = len(angles)
    q_be = quat_from_angles(angles[:, 0], angles[:, 1], np.zeros(n))
    q_se = quat_multiply(q_be, parse_mount("recommended"))
    a_e = np.stack([np.zeros(n), np.zeros(n), acc_v + G], axis=1)
    acc = quat_rotate(quat_conjugate(q_se), a_e)
    dq = np.gradient(q_se, axis=0) * RATE
    w_s = 2 * quat_multiply(quat_conjugate(q_se), dq)[:, 1:]
    rng = np.random.default_rng(3)
    acc = acc + rng.normal(0, 0.02, acc.shape)
    ann = [(stance[0], {"type": "task_start", "task": "single-leg-stance-left"}),
           (stance[1], {"type": "task_stop", "task": "single-leg-stance-left"}),
           (step[0], {"type": "task_start", "task": "step-down-right"}),
           (step[1], {"type": "task_stop", "task": "step-down-right"})]
    make_capture(path, q_se, acc, w_s, RATE, annotations=ann)
    return stance, step


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    d = tmp_path_factory.mktemp("held")
    _held_tasks_capture(d / "held.sacrum")
    out = d / "held.json"
    assert main(["analyze", str(d / "held.sacrum"), "--mount", "recommended",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    _no_nan(doc)
    return doc


def _task_entry(doc, name):
    return next(t for t in doc["summary"]["tasks"] if t["task"] == name)


def test_a_single_leg_stance_task_gets_its_metrics_and_score(held):
    task = _task_entry(held, "single-leg-stance-left")
    assert task["kind"] == "stance" and task["side"] == "L"
    sls = task["single_leg_stance"]
    assert sls["n_trials"] == 1
    assert sls["drop_mean_deg"] == pytest.approx(5.0, abs=0.5)
    assert sls["time_held_s"] == pytest.approx(12.0, abs=0.7)
    assert sls["hold_s"] >= 3.0
    assert task["score"] is not None, task["score_message"]
    drop = task["components"]["drop"]
    # 5° is 1° above the 4° band, 6° from band to poor limit: 83 points
    assert drop["score"] == pytest.approx(100 * (1 - 1 / 6), abs=8.0)
    assert "single-leg stance: contralateral drop 5." in drop["reason"]
    assert task["components"]["hold"]["score"] == 100.0
    assert task["score_message"].startswith("from a stable hold of")


def test_a_step_down_task_gets_its_repetitions_and_score(held):
    task = _task_entry(held, "step-down-right")
    assert task["kind"] == "repetitions" and task["side"] == "R"
    reps = task["repetitions"]
    assert reps["n_repetitions"] == 5
    # the phantom's peak drops: 3, 5, 7, 4, 6 plus the 0.5° offset; median 5.5°
    assert reps["peak_drop_deg"] == pytest.approx(5.5, abs=0.5)
    assert [r["peak_drop_deg"] for r in reps["repetitions"]] == pytest.approx(
        [3.5, 5.5, 7.5, 4.5, 6.5], abs=0.6)
    assert task["score"] is not None, task["score_message"]
    assert task["score_message"] == "from 5 repetitions"
    assert "peak contralateral drop (median) 5." in task["components"]["drop"]["reason"]


def test_held_tasks_make_the_session_score(held):
    summ = held["summary"]
    scores = [_task_entry(held, n)["score"] for n in ("single-leg-stance-left",
                                                      "step-down-right")]
    assert summ["score"] == pytest.approx(sum(scores) / 2)  # equal weights: no walking
    assert summ["metrics_task"] is None  # no stepping task
    assert held["stairs"]["searched"] is False
    assert held["bands"]["min_hold_s"] == 3.0 and held["bands"]["min_repetitions"] == 3


def test_a_step_down_with_too_few_repetitions_has_no_score(tmp_path):
    _held_tasks_capture(tmp_path / "few.sacrum", step_drops_deg=(4, 6))
    out = tmp_path / "few.json"
    assert main(["analyze", str(tmp_path / "few.sacrum"), "--mount", "recommended",
                 "--json", str(out)]) == 0
    task = _task_entry(json.loads(out.read_text()), "step-down-right")
    assert task["repetitions"]["n_repetitions"] == 2
    assert task["score"] is None
    assert "a score needs at least 3" in task["score_message"]


# ---- stairs found in the motion, without marks --------------------------------------------

def test_an_unmarked_level_walk_is_searched_for_stairs_and_stays_walk(tmp_path):
    _walk_capture(tmp_path / "plain.sacrum", marks=False)
    out = tmp_path / "plain.json"
    assert main(["analyze", str(tmp_path / "plain.sacrum"), "--mount", "recommended",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["stairs"]["searched"] is True and doc["stairs"]["segments"] == []
    assert [t["task"] for t in doc["summary"]["tasks"]] == ["walk"]
    assert doc["summary"]["tasks"][0]["segments"][0]["source"] == "detected"


def test_stairs_found_in_a_walk_are_their_own_task_with_the_confidence(tmp_path,
                                                                      monkeypatch):
    """The wiring: the detector itself is tested in tests/test_tasks.py. Here it is made to
    report a flight of stairs up in the middle of the walk."""
    import sacrum.scoring.tasks as tasks

    def fake_find_stairs(t_s, acc_body_mps2, **kw):
        assert len(kw["bouts"]) >= 1 and acc_body_mps2.shape == (len(t_s), 3)
        return tasks.Findings([tasks.StairSegment(10.0, 20.0, "up", 0.9, "rise 0.17 m/step",
                                                  rise_m=2.7, step_time_s=0.57, n_steps=17)])

    monkeypatch.setattr(tasks, "find_stairs", fake_find_stairs)
    _walk_capture(tmp_path / "stairs.sacrum", n_steps=64, marks=False)
    out = tmp_path / "stairs.json"
    assert main(["analyze", str(tmp_path / "stairs.sacrum"), "--mount", "recommended",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    (found,) = doc["stairs"]["segments"]
    assert found["direction"] == "up" and found["confidence"] == 0.9
    assert found["evidence"] == "rise 0.17 m/step"
    up = _task_entry(doc, "stairs-up")
    assert up["segments"][0]["confidence"] == 0.9 and up["segments"][0]["source"] == "detected"
    on_stairs = [s for s in doc["steps"] if 10.0 <= s["t_ic"] <= 20.0]
    assert on_stairs and all(s["task"] == "stairs-up" for s in on_stairs)
    assert not any(s["task"] == "walk" and 10.0 <= s["t_ic"] <= 20.0 for s in doc["steps"])
    assert up["n_steps"] == len(on_stairs)
    assert "found from the motion, not marked (confidence 0.90)" in up["score_message"]
    assert any(m.startswith("stairs-up found from the motion at 10.0–20.0 s (confidence 0.90)")
               for m in doc["messages"])


# ---- the library object every command reads ----------------------------------------------

@pytest.fixture(scope="module")
def daily_analysis():
    import sacrum

    return sacrum.analyze(sacrum.load(DEMO_CAPTURE))


def test_import_sacrum_is_light_and_the_analysis_module_stays_importable():
    import subprocess
    import sys

    code = ("import sys, sacrum; heavy = [m for m in ('numpy', 'pandas', 'scipy', 'numba') "
            "if m in sys.modules]; assert not heavy, heavy; "
            "import sacrum.analysis as m; assert sacrum.analyze is m.analyze; "
            "assert sacrum.load is m.load and sacrum.Analysis is m.Analysis")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_tables_are_the_document(daily_analysis):
    import pandas as pd

    a = daily_analysis
    doc = a.to_json()
    assert doc["format_version"] == 3 and "strides" not in doc
    assert len(a.steps) == len(doc["steps"]) > 20
    for row, s in zip(a.steps.itertuples(), doc["steps"], strict=True):
        assert row.t_ic_s == pytest.approx(s["t_ic"]) and row.stance_side == s["stance_side"]
        assert pd.isna(row.excluded) == (s["excluded"] is None)  # missing: used
        assert row.task == s["task"] or (pd.isna(row.task) and s["task"] is None)
    assert len(a.used_steps) == sum(s["excluded"] is None for s in doc["steps"])
    assert len(a.turns) == len(doc["turns"])
    assert list(a.tasks["task"]) == [t["task"] for t in doc["summary"]["tasks"]]
    for row, t in zip(a.tasks.itertuples(), doc["summary"]["tasks"], strict=True):
        assert row.n_steps_used == t["n_steps_used"]
        assert row.score == pytest.approx(t["score"]) if t["score"] is not None else True
    summ = doc["summary"]
    assert a.score.value == pytest.approx(summ["score"])
    assert list(a.score.interval) == pytest.approx(summ["score_interval"])
    assert a.score.interval[0] <= a.score.value <= a.score.interval[1]
    assert len(a.samples) == doc["input"]["samples"]
    assert int(a.samples["gap"].sum()) == doc["loss"]["samples_lost"]


def test_the_per_sample_angles_give_the_per_step_drops(daily_analysis):
    a = daily_analysis
    t = a.samples["t_s"].to_numpy()
    obl = np.degrees(a.samples["obliquity_rad"].to_numpy())
    for s in a.used_steps.itertuples():
        m = (t >= s.t_ic_s - 1e-6) & (t <= s.t_ic_s + 0.6 * s.step_time_s + 1e-6)
        sign = 1.0 if s.stance_side == "L" else -1.0
        assert np.max(sign * obl[m]) == pytest.approx(s.contralateral_drop_deg, abs=0.01)


def test_the_sample_flags_agree_with_the_events_steps_and_turns(daily_analysis):
    a = daily_analysis
    smp = a.samples
    t = smp["t_s"].to_numpy()
    ics = a.events[a.events["kind"] == "IC"]
    rows = np.abs(t[:, None] - ics["t_s"].to_numpy()[None, :]).argmin(axis=0)
    assert smp["in_bout"].to_numpy()[rows].all()  # every IC the analysis used is in its bout
    assert (smp["bout"].to_numpy()[rows] == ics["bout"].to_numpy()).all()
    in_turn = smp["in_turn"].to_numpy()
    for tr in a.turns.itertuples():
        assert in_turn[(t >= tr.t_start_s) & (t <= tr.t_end_s)].all()
    assert not smp.loc[smp["in_turn"], "heading_settled"].any()
    tasks = set(smp["task"].dropna())
    assert tasks == set(a.tasks["task"])


def test_a_recording_or_its_path_give_the_same_analysis(daily_analysis):
    import sacrum

    again = sacrum.analyze(DEMO_CAPTURE).to_json()
    first = daily_analysis.to_json()
    assert again == first
    first["summary"]["score"] = -1.0  # to_json hands out a copy
    assert daily_analysis.to_json()["summary"]["score"] == again["summary"]["score"]


def test_the_library_module_has_no_print_or_argparse():
    import ast
    import inspect

    import sacrum.analysis as m

    tree = ast.parse(inspect.getsource(m))
    calls = [n.func.id for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    imports = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
               for a in n.names] + [n.module for n in ast.walk(tree)
                                    if isinstance(n, ast.ImportFrom) and n.module]
    assert "print" not in calls and "argparse" not in imports


def test_the_library_example_prints_the_analysis(daily_analysis):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "library.py"
    out = subprocess.run([sys.executable, str(script)], check=True, capture_output=True,
                         text=True).stdout
    a = daily_analysis
    assert f"{len(a.steps)} steps, {len(a.used_steps)} used" in out
    assert f"session score {a.score.value:.0f}" in out


def test_a_turn_between_two_bouts_of_one_walk_is_that_walk_s():
    """A U-turn whose soft steps broke the walk into two bouts belongs to the walk; a turn
    between two tasks, or too far from a walk, to none (``_turn_task``)."""
    from sacrum.analysis import Segment, _turn_task

    walk = [Segment("walk", 5.0, 16.5, "detected"), Segment("walk", 20.3, 30.0, "detected")]
    assert _turn_task(walk, 16.7, 19.4, 3.0) == "walk"           # ipol 2-3's U-turn
    assert _turn_task(walk, 10.0, 12.0, 3.0) == "walk"           # inside a bout
    assert _turn_task(walk, 15.0, 19.0, 3.0) == "walk"           # midpoint out, overlaps
    far = [walk[0], Segment("walk", 24.0, 30.0, "detected")]
    assert _turn_task(far, 16.7, 19.4, 3.0) is None              # 4.6 s before the next
    mixed = [walk[0], Segment("stairs-up", 20.3, 30.0, "detected")]
    assert _turn_task(mixed, 16.7, 19.4, 3.0) is None            # between two tasks
    assert _turn_task(walk, 31.0, 33.0, 3.0) is None             # after the last one


def test_a_turn_without_steps_found_says_so():
    """No IC inside a turn: its step count is unknown (None), not 0; the summary's median
    is over the turns whose steps were found, and the text says they were not found."""
    from sacrum.apps.analyze import _turns_text
    from sacrum.apps.report.content import turns_table
    from sacrum.apps.report.summary import turns_sentence
    from sacrum.scoring.metrics import summarize_turns, turn_metrics
    from sacrum.signal.gait import GaitEvent, Turn

    turns = [Turn(t_start_s=2.0, t_end_s=4.0, angle_deg=-180.0, peak_rate_dps=-120.0),
             Turn(t_start_s=10.0, t_end_s=12.0, angle_deg=90.0, peak_rate_dps=80.0)]
    ics = [GaitEvent(t_s=t, kind="IC", side="LR"[i % 2], bout=0)
           for i, t in enumerate((0.5, 1.0, 1.5, 10.5, 11.0, 11.5))]
    tm = turn_metrics(turns, ics)
    assert [t.n_steps for t in tm] == [None, 3]
    ts = summarize_turns(tm)
    assert ts["n_steps"] == 3 and ts["n_turns"] == 2
    assert summarize_turns(tm[:1])["n_steps"] != summarize_turns(tm[:1])["n_steps"]  # NaN
    task = {"task": "walk", "turns_summary": {**summarize_turns(tm[:1]), "n_steps": None}}
    assert "steps not found" in turns_sentence(task)
    assert "steps not found" in _turns_text(task)
    row = turns_table([{**vars(tm[0]), "task": "walk", "n_steps": None}], "walk").rows[0]
    assert row[-1] == "not found"

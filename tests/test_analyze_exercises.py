"""Exercise tasks in ``sacrum analyze`` and ``sacrum.analyze()`` (issue 16 item 6): phantom
captures (``sacrum.testing.exercise_capture``: the generator's BLE model) through the command
line and the library give the repetitions, holds and sets of the exercise stage
(``sacrum.scoring.exercises.analyse_exercise``) run directly on the same samples: one answer,
and the phantom's counts."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import sacrum
import sacrum_protocol as sp
from cli_contract import run
from sacrum.scoring.exercises import EXERCISES, analyse_exercise
from sacrum.scoring.exercises.posture import body_orientation, body_rates
from sacrum.signal.mounting import parse_mount
from sacrum.signal.orientation import orientation_offline
from sacrum.signal.quaternion import quat_conjugate, quat_multiply
from sacrum.testing.exercise_phantom import exercise_capture, exercise_phantom
from sacrum.testing.generator import LinkModel, make_capture
from sacrum.testing.walking_phantom import walking_phantom

EXCURSIONS = ("tilt_excursion_deg", "obliquity_excursion_deg", "rotation_excursion_deg")
# (task, mounting): a one-sided repetition, an alternating one, the vertical family (upright:
# a standing calibration levels the mounting), a hold
CASES = [("single-leg-bridge-left", "upside-down"), ("bird-dog", "recommended"),
         ("split-squat-right", "recommended"), ("plank", "recommended")]


def _direct(rec, task, q_sensor_to_body, mask=None):
    """The exercise stage on the capture's samples, as a user of the stage would call it."""
    m = np.ones(len(rec.t_s), bool) if mask is None else mask
    q = orientation_offline(rec.acc_mps2, rec.gyr_radps, rec.rate_hz)[m]
    return analyse_exercise(task, rec.t_s[m], body_orientation(q, q_sensor_to_body),
                            body_rates(rec.gyr_radps[m], q_sensor_to_body),
                            body_rates(rec.acc_mps2[m], q_sensor_to_body),
                            rate_hz=rec.rate_hz)


def _entry(doc, task):
    return next(t for t in doc["summary"]["tasks"] if t["task"] == task)


def _same_as_stage(ex_doc, direct):
    """The document's repetitions / holds / sets are the stage's, field for field."""
    if direct.exercise.held:
        want = [h.to_dict_deg() for h in direct.holds]
        got = ex_doc["holds"]
        keys = ("t_start_s", "t_end_s", "hold_s", *EXCURSIONS)
    else:
        want = [r.to_dict_deg() for r in direct.repetitions]
        got = ex_doc["repetitions"]
        keys = ("t_start_s", "t_end_s", "up_s", "hold_s", "down_s", *EXCURSIONS,
                *(m.name for m in direct.exercise.metrics))
    assert len(got) == len(want) > 0
    for g, w in zip(got, want, strict=True):
        if not direct.exercise.held:
            assert g["partial"] == w["partial"] and g["side"] == w["side"]
            assert g["set_index"] == w["set_index"]
        for k in keys:
            assert g[k] == pytest.approx(w[k], abs=1e-9), k
    assert [s["score"] for s in ex_doc["sets"]] == pytest.approx(
        [s.score for s in direct.sets], abs=1e-9)


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def case(request, tmp_path_factory):
    task, mount = request.param
    path = tmp_path_factory.mktemp("ex") / f"{task}.sacrum"
    ph = exercise_capture(path, task, mount=mount, seed=3)
    return task, mount, path, ph


def test_the_command_line_gives_the_exercise_of_the_stage(case, capsys, tmp_path):
    task, mount, path, ph = case
    out = tmp_path / "a.json"
    _, text, _ = run(capsys, "analyze", path, "--task", task, "--mount", mount, "--json", out)
    doc = json.loads(out.read_text())
    entry = _entry(doc, task)
    assert entry["kind"] == "exercise" and entry["angle_reference"] == "start"
    ex = entry["exercise"]
    rec = sacrum.load(path)
    a = sacrum.analyze(rec, task=task, mount=mount)
    _same_as_stage(ex, _direct(rec, task, a.q_sensor_to_body))
    if EXERCISES[task].posture != "upright":   # lying: no standing calibration levels it
        assert a.q_sensor_to_body == pytest.approx(parse_mount(mount))
    # the phantom's truth: full and partial repetitions, holds and their times
    if ph.holds:
        assert ex["n_holds"] == len(ph.holds) and ex["n_repetitions"] == 0
        assert ex["hold_s"] == pytest.approx(max(h.hold_s for h in ph.holds), abs=0.2)
    else:
        assert ex["n_repetitions"] == sum(not r.partial for r in ph.reps)
        assert ex["n_partial"] == sum(r.partial for r in ph.reps)
        assert [r["partial"] for r in ex["repetitions"]] == [r.partial for r in ph.reps]
        if EXERCISES[task].side in ("L", "R"):
            assert {r["side"] for r in ex["repetitions"]} == {EXERCISES[task].side}
        elif EXERCISES[task].side == "alternating":
            assert [r["side"] for r in ex["repetitions"]] == [r.side for r in ph.reps]
        worst = max(abs(r[k] - tr.excursions_deg[k.split("_")[0]])
                    for r, tr in zip(ex["repetitions"], ph.reps, strict=True)
                    for k in EXCURSIONS)
        assert worst < 1.5
    assert len(ex["sets"]) == 2
    for s in ex["sets"]:     # item 3: each set's score has its interval, or says why not
        if ex["held"]:
            assert s["score_interval"] is None and s["score_interval_reason"]
        elif s["score_interval"] is None:
            assert s["score"] is None and s["score_interval_reason"]
        else:
            lo, hi = s["score_interval"]
            assert s["score_interval_level"] == 0.9 and 0 <= lo <= hi <= 100
            assert s["score"] is None or lo <= s["score"] <= hi
            assert (s["score"] is None) == (s["score_interval_reason"] is not None)
    if entry["score"] is not None and not ex["held"]:
        lo, hi = entry["score_interval"]
        assert lo <= entry["score"] <= hi
    # what the command printed is the document's
    n = ex["n_holds"] if ex["held"] else ex["n_repetitions"]
    assert f"{task}: {n} " in text


def test_the_library_tables_hold_the_document(case):
    task, mount, path, _ = case
    a = sacrum.analyze(path, task=task, mount=mount)
    ex = _entry(a.to_json(), task)["exercise"]
    table = a.holds if ex["held"] else a.repetitions
    rows = ex["holds"] if ex["held"] else ex["repetitions"]
    assert len(table) == len(rows) and set(table["task"]) == {task}
    for k in ("t_start_s", "t_end_s", *EXCURSIONS):
        assert table[k].to_numpy() == pytest.approx([r[k] for r in rows])
    assert a.tasks.set_index("task").loc[task, "kind"] == "exercise"
    assert (a.repetitions if ex["held"] else a.holds).empty
    assert a.running_steps.empty
    sets = a.exercise_sets
    assert list(sets["set_index"]) == [s["set_index"] for s in ex["sets"]]
    for (_, row), s in zip(sets.iterrows(), ex["sets"], strict=True):
        iv = s["score_interval"] or [math.nan, math.nan]
        assert row["score_low"] == pytest.approx(iv[0], nan_ok=True)
        assert row["score_high"] == pytest.approx(iv[1], nan_ok=True)
        assert row["score_interval_reason"] == s["score_interval_reason"]
    if ex["sets"] and all(s["score"] is not None for s in ex["sets"]):
        assert a.summary["score"] == pytest.approx(np.mean([s["score"] for s in ex["sets"]]))


def test_task_marks_of_a_capture_make_exercise_tasks(tmp_path):
    """The protocol now carries exercise names: a marked capture is analysed without
    --task, each task on its segment's samples only."""
    task, mount = "clamshell-left", "recommended"
    ph = exercise_phantom(task, mount=mount, seed=2, reps_per_set=4)
    t0, t1 = 1.0, float(ph.t_s[-1]) - 0.5
    ann = [(t0, {"type": "task_start", "task": task}),
           (t1, {"type": "task_stop", "task": task})]
    path = tmp_path / "marked.sacrum"
    make_capture(path, ph.q_sensor_to_earth, ph.acc_mps2, ph.gyr_radps, int(ph.rate_hz),
                 link=LinkModel(mtu=247), seed=2, annotations=ann)
    assert task in sp.TASKS
    rec = sacrum.load(path)
    assert [m[0] for m in rec.marks] == [task]
    a = sacrum.analyze(rec, mount=mount)
    entry = _entry(a.to_json(), task)
    assert entry["kind"] == "exercise" and entry["segments"][0]["source"] == "annotation"
    a0, a1 = entry["segments"][0]["t_start_s"], entry["segments"][0]["t_end_s"]
    direct = _direct(rec, task, a.q_sensor_to_body, (rec.t_s >= a0) & (rec.t_s <= a1))
    _same_as_stage(entry["exercise"], direct)
    assert entry["exercise"]["n_repetitions"] == sum(not r.partial for r in ph.reps)


def test_an_exercise_without_a_mounting_is_one_clear_line(tmp_path, capsys):
    """No walking and no standing first (the recording starts lying): one line saying
    what to do (stand still first, walk, or --mount), exit 1."""
    path = tmp_path / "bridge.sacrum"
    exercise_capture(path, "bridge", seed=1, reps_per_set=3)
    code, _, err = run(capsys, "analyze", path, "--task", "bridge", ok_codes=())
    assert code == 1 and "--mount" in err and "stand still" in err and "walk" in err
    assert len(err.strip().splitlines()) == 1


def _mount_error_deg(a, b) -> float:
    d = quat_multiply(np.asarray(a, float), quat_conjugate(np.asarray(b, float)))
    return math.degrees(2 * math.acos(min(1.0, abs(float(d[0])))))


@pytest.mark.parametrize(("task", "mount"), [("bridge", "upside-down"),
                                             ("side-plank-left", "x=left,y=down,z=back")])
def test_an_exercise_after_a_standing_calibration_needs_no_mounting(tmp_path, capsys, task,
                                                                    mount):
    """Item 2: standing still for 4 s first, then lying down: the mounting comes from the
    standing (up from gravity, forward as the mounting guide has the board), the task
    starts once the body has settled lying, and the phantom's counts come out."""
    path = tmp_path / f"{task}.sacrum"
    ph = exercise_capture(path, task, mount=mount, seed=3, stand_first_s=4.0,
                          reps_per_set=4, hold_s=(8.0, 6.0))
    out = tmp_path / "a.json"
    run(capsys, "analyze", path, "--task", task, "--json", out)
    doc = json.loads(out.read_text())
    assert doc["mounting"]["source"] == "estimated-standing" and doc["mounting"]["message"]
    a = sacrum.analyze(path, task=task)
    # the standing posture is tilted 4°, obliquity 2°, as the phantom's postures are: the
    # levelled mounting is the phantom's turned by that
    assert _mount_error_deg(a.q_sensor_to_body, ph.q_sensor_to_body) < 5.0
    entry = _entry(doc, task)
    ex = entry["exercise"]
    assert ex["posture"] == EXERCISES[task].posture
    assert entry["segments"][0]["t_start_s"] > 4.0   # the standing is no part of it
    if ph.holds:
        assert ex["n_holds"] == len(ph.holds)
        for h, tr in zip(ex["holds"], ph.holds, strict=True):
            assert abs(h["hold_s"] - tr.hold_s) < 0.2
    else:
        assert [r["partial"] for r in ex["repetitions"]] == [r.partial for r in ph.reps]
        assert [r["set_index"] for r in ex["repetitions"]] == [r.set_index for r in ph.reps]
        worst = max(abs(r[k] - tr.excursions_deg[k.split("_")[0]])
                    for r, tr in zip(ex["repetitions"], ph.reps, strict=True)
                    for k in EXCURSIONS)
        assert worst < 1.5


def test_an_exercise_after_walking_takes_the_walking_mounting(tmp_path):
    """Item 2: walking first (marked), then the exercise (marked): the mounting is the
    walking estimator's, as for a walk, and the exercise is counted."""
    mount = "recommended"
    walk = walking_phantom(n_steps=40, mount=parse_mount(mount), seed=4)
    ph = exercise_phantom("bridge", mount=mount, seed=4, reps_per_set=4, stand_first_s=3.0)
    acc = np.vstack([walk["acc"], ph.acc_mps2])
    gyr = np.vstack([walk["gyr"], ph.gyr_radps])
    t_walk = len(walk["acc"]) / ph.rate_hz
    ann = [(0.5, {"type": "task_start", "task": "walk"}),
           (t_walk - 0.5, {"type": "task_stop", "task": "walk"}),
           (t_walk + 7.0, {"type": "task_start", "task": "bridge"}),
           (t_walk + float(ph.t_s[-1]) - 0.5, {"type": "task_stop", "task": "bridge"})]
    path = tmp_path / "walk_then_bridge.sacrum"
    make_capture(path, orientation_offline(acc, gyr, ph.rate_hz), acc, gyr, int(ph.rate_hz),
                 link=LinkModel(mtu=247), seed=4, annotations=ann)
    a = sacrum.analyze(path)
    assert a.mounting["source"] == "estimated"
    # levelled by the standing before the walk (tilted 2°) and forward from 40 steps
    assert _mount_error_deg(a.q_sensor_to_body, parse_mount(mount)) < 20.0
    ex = _entry(a.to_json(), "bridge")["exercise"]
    assert ex["n_repetitions"] == sum(not r.partial for r in ph.reps)
    assert ex["n_partial"] == sum(r.partial for r in ph.reps)


def test_the_document_is_strict_json(case, tmp_path, capsys):
    task, mount, path, _ = case
    out = tmp_path / "b.json"
    run(capsys, "analyze", path, "--task", task, "--mount", mount, "--json", out)
    doc = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(c))
    ex = _entry(doc, task)["exercise"]
    for r in ex["repetitions"] + ex["holds"]:
        assert all(not isinstance(v, float) or math.isfinite(v) for v in r.values())

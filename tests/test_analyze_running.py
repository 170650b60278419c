"""``--task run`` in ``sacrum analyze`` and ``sacrum.analyze()`` (issue 17 item 3): a running
phantom (walk, run, walk; ``sacrum.testing.running_phantom``) written as a capture by the
generator's BLE model, through the command line and the library: the running metrics are
those of the running stages (``sacrum.signal.running``, ``sacrum.scoring.running``) run
directly on the same samples (one answer), within the phantom's tolerances of its truth, and
over the running bouts only."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

import sacrum
from cli_contract import run
from sacrum.scoring.running import (
    load_running_bands,
    running_step_metrics,
    score_run,
    summarize_run,
)
from sacrum.signal.orientation import orientation_offline
from sacrum.signal.pipeline import analyze_recording
from sacrum.signal.running import detect_running, estimate_running_mount, level_acceleration
from sacrum.testing.generator import LinkModel, make_capture
from sacrum.testing.running_phantom import running_phantom

DROP_TOL_DEG = 0.5
CADENCE_TOL_SPM = 1.0
CONTACT_TOL_S = 0.015
VO_TOL_M = 0.01


def _nan(x):
    """JSON's null as NaN (the stages' "not computed"), in dicts too."""
    if isinstance(x, dict):
        return {k: _nan(v) for k, v in x.items()}
    return math.nan if x is None else x


def _offset(path, p) -> float:
    """Capture time less phantom time (a capture's clock starts at the session start)."""
    return float(sacrum.load(path).t_s[0] - p["t"][0])


def _capture(path, p, annotations=()):
    make_capture(path, p["q"], p["acc"], p["gyr"], int(p["rate_hz"]), link=LinkModel(mtu=247),
                 seed=2, annotations=annotations)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Walk 8 steps, run 60, walk 8, as a capture; analysed once through the command line."""
    p = running_phantom(seed=2)
    d = tmp_path_factory.mktemp("run")
    _capture(d / "run.sacrum", p)
    return p, d / "run.sacrum"


def _direct(rec):
    """The running stages on the capture's samples: orientation, the mounting from the
    running, the pipeline's calibrated angles, events, per-step metrics, summary, score."""
    q = orientation_offline(rec.acc_mps2, rec.gyr_radps, rec.rate_hz)
    first, _ = detect_running(rec.t_s, rec.acc_mps2, q, np.array([1.0, 0, 0, 0]), rec.rate_hz)
    mount = estimate_running_mount(rec.t_s, rec.acc_mps2, q, first)
    res = analyze_recording(rec.t_s, rec.acc_mps2, rec.gyr_radps, rec.rate_hz,
                            q_sensor_to_earth=q, q_sensor_to_body=mount)
    qsb = res.calibration.q_sensor_to_body
    steps, _ = detect_running(rec.t_s, rec.acc_mps2, q, qsb, rec.rate_hz)
    metrics = running_step_metrics(res.t_s, res.angles_rad,
                                   level_acceleration(q, rec.acc_mps2, qsb), steps)
    bands = load_running_bands()
    summ = summarize_run(metrics, min_steps_per_side=bands.min_steps_per_side)
    return mount, steps, metrics, summ, score_run(summ, bands, steps=metrics)


def test_the_command_line_gives_the_running_stages_answer(mixed, capsys, tmp_path):
    p, path = mixed
    out = tmp_path / "a.json"
    _, text, _ = run(capsys, "analyze", path, "--task", "run", "--json", out)
    doc = json.loads(out.read_text())
    entry = next(t for t in doc["summary"]["tasks"] if t["task"] == "run")
    assert entry["kind"] == "run" and doc["summary"]["metrics_task"] == "run"
    mount, _, metrics, summ, ts = _direct(sacrum.load(path))
    assert doc["mounting"]["source"] == "estimated-running"
    assert doc["mounting"]["q_sensor_to_body"] == pytest.approx(mount, abs=1e-12)
    # one answer: per step and summarised
    assert len(doc["running_steps"]) == len(metrics)
    for got, want in zip(doc["running_steps"], metrics, strict=True):
        w = dataclasses.asdict(want)
        assert got["t_ic"] == pytest.approx(w["t_ic_s"], abs=1e-12)
        assert got["stance_side"] == w["stance_side"] and got["excluded"] == w["excluded"]
        for k in ("contact_time_s", "flight_time_s", "contralateral_drop_deg",
                  "vertical_oscillation_m", "braking_mps2"):
            assert _nan(got[k]) == pytest.approx(w[k], abs=1e-9, nan_ok=True), k
    for k in ("cadence_spm", "n_steps_used"):
        assert entry[k] == pytest.approx(getattr(summ, k))
    for k in ("contralateral_drop_deg", "contact_time_s", "flight_time_s",
              "vertical_oscillation_m", "braking_mps2", "symmetry_index"):
        assert _nan(entry[k]) == pytest.approx(getattr(summ, k), nan_ok=True), k
    assert entry["score"] == pytest.approx(ts.score)
    assert ts.interval is not None        # a bootstrap over the running steps, as walking's
    assert entry["score_interval"] == pytest.approx(list(ts.interval))
    assert entry["score_interval"][0] <= entry["score"] <= entry["score_interval"][1]
    assert doc["summary"]["score"] == pytest.approx(ts.score)
    assert doc["summary"]["contralateral_drop_deg"] == entry["contralateral_drop_deg"]
    assert doc["summary"]["cadence_spm"] == entry["cadence_spm"]
    # the phantom's truth (docs/running.md tolerances)
    run_ = p["modes"] == "run"
    for s in "LR":
        truth = float(np.median(p["drop"][run_ & (p["sides"] == s)]))
        assert abs(entry["contralateral_drop_deg"][s] - truth) < DROP_TOL_DEG
    assert abs(entry["cadence_spm"] - p["cadence_spm"]) < CADENCE_TOL_SPM
    assert abs(entry["contact_time_s"]["all"] - np.median(p["contact_s"][run_])) < CONTACT_TOL_S
    assert abs(entry["vertical_oscillation_m"]["all"] - np.median(p["vo_m"][run_])) < VO_TOL_M
    # only the running bouts; the walking said
    dt = _offset(path, p)
    t_run0, t_run1 = p["segments"][1][1] + dt, p["segments"][1][2] + dt
    assert all(t_run0 - 0.05 <= x["t_ic"] <= t_run1 for x in doc["running_steps"])
    assert 0 < entry["n_walking_steps"] <= int((~run_).sum())
    assert any("walking" in m for m in entry["messages"])
    assert f"{entry['n_walking_steps']} walking steps" in text


def test_the_library_gives_the_running_steps_table(mixed):
    _, path = mixed
    a = sacrum.analyze(path, task="run")
    doc = a.to_json()
    assert len(a.running_steps) == len(doc["running_steps"]) > 0
    assert a.running_steps["t_ic_s"].to_numpy() == pytest.approx(
        [x["t_ic"] for x in doc["running_steps"]])
    used = a.running_steps[a.running_steps["excluded"].isna()]
    entry = a.summary["tasks"][0]
    assert len(used) == entry["n_steps_used"]
    for s in "LR":
        assert np.median(used.loc[used["stance_side"] == s, "contralateral_drop_deg"]) == \
            pytest.approx(entry["contralateral_drop_deg"][s])
    row = a.tasks.set_index("task").loc["run"]
    assert row["kind"] == "run"
    assert row["contralateral_drop_L_deg"] == pytest.approx(entry["contralateral_drop_deg"]["L"])
    assert [row["score_low"], row["score_high"]] == pytest.approx(entry["score_interval"])
    assert a.repetitions.empty and a.holds.empty


def test_marked_walk_and_run_are_two_tasks(tmp_path):
    """A capture with task marks walk and run: the walk is the walking stage's, the run the
    running stages'; the run's metrics equal those of --task run over the whole capture
    (its walking steps are left out either way)."""
    p = running_phantom(seed=4)
    path = tmp_path / "marked.sacrum"
    _capture(path, p)
    dt = _offset(path, p)   # the marks are on the capture's time axis
    (_, w0, _), (_, r0, r1) = p["segments"][0], p["segments"][1]
    w0, r0, r1 = w0 + dt, r0 + dt, r1 + dt
    ann = [(w0 - 0.3, {"type": "task_start", "task": "walk"}),
           (r0 - 0.05, {"type": "task_stop", "task": "walk"}),
           (r0 - 0.05, {"type": "task_start", "task": "run"}),
           (r1 + 0.05, {"type": "task_stop", "task": "run"})]
    _capture(path, p, ann)
    a = sacrum.analyze(path)
    kinds = {t["task"]: t for t in a.summary["tasks"]}
    assert kinds["walk"]["kind"] == "steps" and kinds["run"]["kind"] == "run"
    assert kinds["walk"]["n_steps"] > 0
    assert a.summary["metrics_task"] == "walk"
    whole = sacrum.analyze(path, task="run").summary["tasks"][0]
    assert kinds["run"]["n_steps_used"] == whole["n_steps_used"]
    assert kinds["run"]["contralateral_drop_deg"] == pytest.approx(
        whole["contralateral_drop_deg"])
    assert kinds["run"]["n_walking_steps"] < whole["n_walking_steps"]


def test_walking_only_as_run(tmp_path, capsys):
    """No running: without a mounting one clear line; with one, no running steps and no
    score, said in words."""
    p = running_phantom(segments=(("walk", 30),), seed=1)
    path = tmp_path / "walk.sacrum"
    _capture(path, p)
    code, _, err = run(capsys, "analyze", path, "--task", "run", ok_codes=())
    assert code == 1 and "--mount" in err
    a = sacrum.analyze(path, task="run", mount="recommended")
    entry = a.summary["tasks"][0]
    assert entry["kind"] == "run" and entry["n_steps"] == 0 and entry["score"] is None
    assert entry["n_walking_steps"] > 20
    assert a.running_steps.empty
    assert any("no running steps" in m for m in entry["messages"])

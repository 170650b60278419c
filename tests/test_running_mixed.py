"""Walk <-> run found automatically (issue 17 item 1): the running detector's walk/run labels and
bouts on mixed phantoms with known transition times (``mixed_phantom``), and ``sacrum.analyze``
without a task on such a session: walking tasks for the walking, ``run`` tasks with running
steps for the running (docs/running.md, "Walk <-> run").

Nothing here is tuned: the detector's bounds are physical (its docstring, step 6); the seeds
used here (31-34) are not those of any measurement the bounds were read from (there was none:
bench/running_transitions.py reports seeds 100-119)."""

from __future__ import annotations

import numpy as np
import pytest

import sacrum
from sacrum.analysis import Recording
from sacrum.signal.orientation import orientation_offline
from sacrum.signal.running import detect_running
from sacrum.testing.running_phantom import mixed_phantom, running_phantom

WALK_CADENCE_SPM = 110.0  # the phantom's walking cadence (running_phantom's default)


def _one_step(p, mode: str) -> float:
    return 60.0 / (p["cadence_spm"] if mode == "run" else WALK_CADENCE_SPM)


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_every_step_is_labelled_as_it_was_made_and_bouts_start_at_the_transition(seed):
    p = mixed_phantom(seed)
    q = orientation_offline(p["acc"], p["gyr"], 200.0)
    steps, bouts = detect_running(p["t"], p["acc"], q, p["mount"], 200.0)
    for s in steps:  # each step's label is the mode the phantom made it in
        k = int(np.argmin(np.abs(p["t_ic"] - s.t_ic_s)))
        assert s.mode == p["modes"][k], (s.t_ic_s, s.mode, p["modes"][k])
    assert [b.mode for b in bouts] == [m for m, *_ in p["segments"]]
    for b, (t_a, _, mode) in zip(bouts[1:], p["transitions"], strict=True):
        # a walk -> run bout starts at the first running contact (timed by the walking
        # comparator: its lag is at most the flank's max_rise_s, 0.05 s), a run -> walk
        # bout at the first contact without a flight after it: not one step late
        assert b.mode == mode
        assert abs(b.t_start_s - t_a) < 0.05 < _one_step(p, mode), (mode, t_a, b)


@pytest.fixture(scope="module")
def mixed():
    """A mixed session (walk, run, walk, run, walk) analysed once without a task, as a CSV
    would be (the host's orientation, the mounting estimated)."""
    p = mixed_phantom(34)
    n = len(p["t"])
    rec = Recording("csv", p["t"], p["acc"], p["gyr"], None, 200.0, [],
                    {"samples_expected": n, "samples_lost": 0, "loss_fraction": 0.0})
    return p, sacrum.analyze(rec)


def test_without_a_task_running_is_a_run_task_and_walking_a_walking_one(mixed):
    p, a = mixed
    doc = a.to_json()
    tasks = {t["task"]: t for t in doc["summary"]["tasks"]}
    assert tasks["run"]["kind"] == "run" and tasks["walk"]["kind"] == "steps"
    assert doc["mounting"]["source"] == "estimated-running"
    runs = [(t0, t1) for m, t0, t1 in p["segments"] if m == "run"]
    segs = tasks["run"]["segments"]
    assert len(segs) == len(runs)
    step = _one_step(p, "run")
    for g, (t0, t1) in zip(segs, runs, strict=True):
        # from the first running contact to the last toe-off (the flight after it is part
        # of the last step): within one step of the phantom's segment
        assert abs(g["t_start_s"] - t0) < step and abs(g["t_end_s"] - t1) < step, (g, t0, t1)
    # every running step of the phantom's running segments is a running step of the task
    # (but a bout's edges, excluded), on the right side, none from the walking
    rs = a.running_steps
    assert set(rs["task"]) == {"run"}
    for t_ic, side in zip(rs["t_ic_s"], rs["stance_side"], strict=True):
        k = int(np.argmin(np.abs(p["t_ic"] - t_ic)))
        assert p["modes"][k] == "run" and p["sides"][k] == side
    n_run = int(np.sum(p["modes"] == "run"))
    assert len(rs) >= n_run - 2 * len(runs)
    # the walking stage's steps in the phantom's walking (away from its ends) are in
    # stepping tasks, never in the run task
    kind = {t["task"]: t["kind"] for t in doc["summary"]["tasks"]}
    walks = [(t0, t1) for m, t0, t1 in p["segments"] if m == "walk"]
    inner = [s for s in doc["steps"]
             if any(t0 + 0.6 <= s["t_ic"] <= t1 - 0.6 for t0, t1 in walks)]
    assert inner and all(s["task"] is not None and kind[s["task"]] == "steps" for s in inner)
    assert tasks["walk"]["n_steps_used"] > 0
    # the run task's score has its interval (a bootstrap of its running steps), and the
    # session's pools it with the walking's, resample by resample
    run, summ = tasks["run"], doc["summary"]
    assert run["score"] is not None and run["score_interval"] is not None
    assert run["score_interval"][0] <= run["score"] <= run["score_interval"][1]
    assert summ["score_interval"][0] <= summ["score"] <= summ["score_interval"][1]


def test_no_stairs_in_a_level_session_that_runs():
    """Level walking and running (mixed_phantom 7, walk -> run -> walk -> run -> walk) analysed
    without a task: stairs are searched and none is found, in the running or beside it. (The
    phantom's walking used to leave its pelvis sinking at 0.25 m/s after the walk, and the
    stairs finder called the last walk stairs-up: the running_phantom's walking is now level,
    checked below on its own truth.)"""
    p = mixed_phantom(7)
    n = len(p["t"])
    rec = Recording("csv", p["t"], p["acc"], p["gyr"], None, 200.0, [],
                    {"samples_expected": n, "samples_lost": 0, "loss_fraction": 0.0})
    doc = sacrum.analyze(rec).to_json()
    assert doc["stairs"]["searched"]
    kinds = [t["task"] for t in doc["summary"]["tasks"]]
    assert "run" in kinds and not [k for k in kinds if k.startswith("stairs")], kinds
    assert doc["stairs"]["segments"] == []


@pytest.mark.parametrize("segments", [(("walk", 16),), (("walk", 40),),
                                      (("walk", 10), ("run", 20), ("walk", 12))])
def test_the_phantoms_walking_is_level(segments):
    """The phantom's truth (its pelvis's own vertical acceleration, no sensor): after a walk
    the pelvis stands still again (vertical velocity back to that of the standing before),
    and the stairs finder finds no stairs in its walking (the running left out, as the
    analysis leaves it out)."""
    from sacrum.scoring.tasks import find_stairs

    p = running_phantom(segments=segments, seed=7)
    t, a = p["t"], p["a_prog"].copy()
    v = np.cumsum(a[:, 2]) / p["rate_hz"]
    stand_end = t > p["t_end"] + 0.7
    if all(m == "walk" for m, _ in segments):
        assert abs(float(np.mean(v[stand_end]))) < 0.02     # m/s: at rest, as before
    walks = [(t0, t1) for m, t0, t1 in p["segments"] if m == "walk"]
    for m, t0, t1 in p["segments"]:
        if m == "run":
            a[(t >= t0) & (t <= t1 + 0.5)] = np.nan
    assert list(find_stairs(t, a, bouts=walks)) == []

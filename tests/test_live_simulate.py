"""The live view's engine and CLI on the simulator transport (the phantom walk, 4° / 9° drop)."""

from __future__ import annotations

import time

import pytest

from sacrum.apps.cli import main
from sacrum.apps.live.cli import make_session

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime


def test_session_on_the_simulator_recovers_the_phantom_drops():
    s = make_session("simulate", None, speed=10.0)
    s.start()
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30.0:
            snap = s.snapshot()
            if snap.steps_total >= 50:
                break
            time.sleep(0.1)
    finally:
        s.stop()
    assert snap.steps_total >= 50, snap.steps_total
    assert snap.drop_deg["L"] == pytest.approx(4.0, abs=0.6)
    assert snap.drop_deg["R"] == pytest.approx(9.0, abs=0.6)
    assert snap.link.state in ("connected", "ended")


def test_live_simulate_headless_runs_for_its_duration(tmp_path, capsys):
    assert main(["live", "--simulate", "--headless", "--duration", "30",
                 "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "30.0 s at 200 Hz through the simulator transport" in out
    assert "0 of 6,00" in out                                # no sample lost
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["drops.png", "strides.png",
                                                              "traces.png"]


def test_a_held_task_is_scored_live_by_its_own_processor():
    """Choosing single-leg stance hands the score to sacrum.scoring.livetask (the same code as
    sacrum analyze); walking the phantom is no single-leg stance, and the task says why;
    choosing walk again gives the walking score back."""
    s = make_session("simulate", None, speed=10.0)
    s.set_task("single-leg-stance-left")      # before the first samples
    s.start()
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 20.0 and s.snapshot().task_summary is None:
            time.sleep(0.1)
        held = s.snapshot()
        assert held.task == "single-leg-stance-left" and held.task_summary is not None
        assert held.score is None and held.message        # no score, and why
        s.set_task("walk")
        while time.monotonic() - t0 < 40.0 and s.snapshot().score is None:
            time.sleep(0.1)
        walk = s.snapshot()
    finally:
        s.stop()
    assert walk.task_summary is None and walk.score is not None

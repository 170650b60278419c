"""The live view's engine and CLI on the simulator transport (the phantom walk, 4° / 9° drop)."""

from __future__ import annotations

import time

import pytest

from sacrum.cli import main
from sacrum.live.cli import make_session


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

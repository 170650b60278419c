"""``sacrum record``: simulator and replay into captures; interrupted recordings read back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from sacrum.apps.cli import main
from sacrum.io.capture import CaptureReader
from sacrum.io.decode import decode_capture

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime


def test_record_simulate_then_replay_gives_the_same_samples(tmp_path, capsys):
    first = tmp_path / "sim.sacrum"
    assert main(["record", "--simulate", "--speed", "0", "--duration", "5", "--out",
                 str(first), "-q"]) == 0
    out = capsys.readouterr().out
    assert "0 lost" in out
    table = decode_capture(first)
    assert 1000 <= len(table) <= 1015 and table.loss.samples_lost == 0
    assert table.header["transport"] == "simulator" and table.device["name"] == "sacrum-sim"
    kinds = [json.loads(r.payload)["type"] for r in CaptureReader(first).records()
             if r.kind == 0x04]
    assert kinds == ["connected"]  # link events are recorded as EVENT records

    second = tmp_path / "replayed.sacrum"
    assert main(["record", "--replay", str(first), "--speed", "0", "--out", str(second),
                 "-q"]) == 0
    again = decode_capture(second)
    assert again.header["transport"] == "simulator"
    np.testing.assert_array_equal(again.q, table.q)
    np.testing.assert_array_equal(again.acc_mps2, table.acc_mps2)


def _interrupted(tmp_path, sig):
    out = tmp_path / f"killed-{sig}.sacrum"
    # SIGINT as a terminal gives it: a shell without job control starts background jobs
    # (a CI runner's) with SIGINT ignored, and the child would inherit that
    proc = subprocess.Popen([sys.executable, "-m", "sacrum.apps.cli", "record", "--simulate",
                             "--out", str(out), "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 4000):
        time.sleep(0.1)
    proc.send_signal(sig)
    proc.wait(60)  # generous: on a loaded 2-core CI machine the shutdown can take seconds
    return out, proc


def test_ctrl_c_leaves_a_complete_capture(tmp_path):
    out, proc = _interrupted(tmp_path, signal.SIGINT)
    assert proc.returncode == 130
    table = decode_capture(out)
    assert len(table) > 50 and table.loss.samples_lost == 0
    assert table.loss.truncated_tail_bytes == 0


def test_killed_recorder_leaves_a_readable_capture(tmp_path):
    out, proc = _interrupted(tmp_path, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    size = os.path.getsize(out)
    table = decode_capture(out)  # a partial last record, if any, is reported, not fatal
    assert len(table) > 50 and table.loss.samples_lost == 0
    assert table.loss.truncated_tail_bytes < size


def test_record_without_a_serial_port_fails_clearly(capsys):
    assert main(["record", "--serial", "/nonexistent/ttyACM9", "--out", os.devnull]) == 1
    assert "cannot open serial port" in capsys.readouterr().err


def test_emulate_self_test_on_the_virtual_radio(tmp_path, capsys):
    """`sacrum emulate --transport virtual`: the virtual sensor on Bumble's link, recorded
    by this host's BLE transport: every sample arrives."""
    out = tmp_path / "emu.sacrum"
    assert main(["emulate", "--simulate", "--transport", "virtual", "--duration", "6",
                 "--speed", "20", "--out", str(out), "--rate", "100"]) == 0
    text = capsys.readouterr().out
    assert "virtual link self-test" in text
    table = decode_capture(out)
    assert table.loss.samples_lost == 0 and len(table) >= 500


def test_emulate_streams_what_the_firmware_makes_of_a_recording(tmp_path, capsys):
    """`--imu CSV`: the firmware runs under MicroPython on the recording (firmware in the
    loop) and the virtual sensor streams its packets: they come back over BLE intact."""
    t = np.arange(600) / 100.0
    acc = np.tile([0.0, 0.0, 9.80665], (600, 1)) + 0.3 * np.sin(2 * np.pi * 1.8 * t)[:, None]
    gyr = 0.2 * np.sin(2 * np.pi * 0.9 * t)[:, None] * np.array([[0.0, 0.0, 1.0]])
    csv = tmp_path / "imu.csv"
    np.savetxt(csv, np.column_stack([t, acc, gyr]), delimiter=",",
               header="t,ax,ay,az,gx,gy,gz", comments="")
    out = tmp_path / "emu.sacrum"
    assert main(["emulate", "--imu", str(csv), "--transport", "virtual", "--duration", "4",
                 "--speed", "20", "--out", str(out), "--rate", "100"]) == 0
    assert "firmware in the loop" in capsys.readouterr().err
    table = decode_capture(out)
    assert table.loss.samples_lost == 0 and len(table) >= 350
    # the recording's motion came through: x acceleration 0.3 m/s² × sin → SD 0.3/√2
    assert np.nanstd(table.acc_mps2[:, 0]) == pytest.approx(0.3 / np.sqrt(2), abs=0.02)

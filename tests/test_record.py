"""``sacrum record``: simulator and replay into captures; interrupted recordings read back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from sacrum.capture import CaptureReader
from sacrum.cli import main
from sacrum.decode import decode_capture


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
    proc = subprocess.Popen([sys.executable, "-m", "sacrum.cli", "record", "--simulate",
                             "--out", str(out), "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 4000):
        time.sleep(0.1)
    proc.send_signal(sig)
    proc.wait(10)
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

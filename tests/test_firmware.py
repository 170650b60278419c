"""The firmware's modules under a real MicroPython, and every file through mpy-cross.

tests/firmware/device_check.py holds the checks (packetizer, sample clock,
config, commands, battery, LED, BLE and serial links, the device loop with the
emulated MPU-6050 of firmware/sim/fake_mpu.py); this runs it under the unix
port of the dev extras and requires every check to pass.
"""

from __future__ import annotations

import pytest

import sacrum_protocol as sp
from mpy_tools import (
    CHECKS_DIR,
    FIRMWARE_DIR,
    PROTOCOL_DIR,
    assert_compiles,
    assert_passed,
    check_names,
    run_micropython,
)


def test_device_checks_pass_under_micropython(tmp_path):
    script = CHECKS_DIR / "device_check.py"
    proc = run_micropython(script, cwd=tmp_path, env={"SACRUM_TMP": str(tmp_path)})
    assert_passed(proc, len(check_names(script)))


@pytest.mark.parametrize("march", [None, "xtensawin"])
@pytest.mark.parametrize("path", sorted(FIRMWARE_DIR.rglob("*.py")), ids=lambda p: p.name)
def test_every_firmware_file_compiles_with_mpy_cross(path, tmp_path, march):
    """xtensawin: the ESP32's native emitter (fusion.py's viper code needs one)."""
    if march is None and "@micropython.viper" in path.read_text(encoding="utf-8"):
        pytest.skip("native code compiles only for a target architecture")
    assert_compiles(path, tmp_path, march)


# --- protocol 1.1: the status record's health block ------------------------------------
def _status_1_1_vectors():
    import json

    return json.loads((PROTOCOL_DIR / "vectors" / "v1_1" / "status.json").read_text("utf-8"))


def _expected(v):
    fields = sp.STATUS_FIELDS + sp.STATUS_EXT_FIELDS
    return tuple(v["status"][f] for f in fields), v["status_name"]


@pytest.mark.parametrize("v", _status_1_1_vectors(), ids=lambda v: v["name"])
def test_status_1_1_vectors_under_cpython(v):
    packet = bytes.fromhex(v["hex"])
    version, _, op, result, payload = sp.decode_response(packet)
    assert (version, op, result) == (sp.VERSION_1_1, sp.OP_GET_STATUS, sp.RESULT_OK)
    if v["rejected_by"]:
        with pytest.raises(sp.ProtocolError):
            sp.unpack_status(payload, version)
        return
    assert sp.unpack_status(payload, version) == _expected(v)
    values, name = _expected(v)
    assert sp.pack_status(values, name, version) == payload
    with pytest.raises(sp.ProtocolError):  # a 1.0 reader never misreads it as a name
        sp.unpack_status(payload + b"\xff" * 8)


def test_status_1_1_vectors_under_micropython(tmp_path):
    lines = ["import sacrum_protocol as sp", "ok = 0"]
    for v in _status_1_1_vectors():
        lines.append(f"p = bytes.fromhex({v['hex']!r})")
        lines.append("ver, _, op, res, pl = sp.decode_response(p)")
        if v["rejected_by"]:
            lines += ["try:", "    sp.unpack_status(pl, ver)", "except sp.ProtocolError:",
                      "    ok += 1"]
        else:
            lines.append(f"if sp.unpack_status(pl, ver) == {_expected(v)!r}:")
            lines.append("    ok += 1")
            values, name = _expected(v)
            lines.append(f"if sp.pack_status({values!r}, {name!r}, ver) == pl:")
            lines.append("    ok += 1")
    lines.append("print(ok, 'passed, 0 failed')")
    script = tmp_path / "status11.py"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = run_micropython(script, cwd=tmp_path)
    n = sum(1 if v["rejected_by"] else 2 for v in _status_1_1_vectors())
    assert proc.returncode == 0 and proc.stdout.split()[0] == str(n), proc.stdout + proc.stderr


# --- protocol 1.2: the gyro bias on the wire (SPEC 2.5) -----------------------------------
@pytest.mark.parametrize("link, mtu", [("ble", 23), ("serial", 247)])
def test_a_1_2_host_recovers_the_sensors_rate_through_the_firmware(tmp_path, link, mtu):
    """The firmware in the loop (sacrum simulate: HELLO chooses 1.2): 4 s of standing with a
    gyro bias of 0.8 °/s, then walking. The device learns the bias at the standing and
    takes it off the streamed rate; its BIAS packets give it back, so at every sample the
    decoded sensor rate is the recording's to the sensor's and the wire's rounding plus
    the BIAS threshold (2^-12 rad/s), while the wire's rate is off by the bias."""
    import numpy as np

    from sacrum.analysis import load
    from sacrum.io.decode import decode_capture
    from sacrum.testing.generator import synthetic_walk
    from sacrum.testing.simulate import simulate

    _, acc_w, gyr_w = synthetic_walk(6, 200, seed=5)
    still = np.tile(acc_w[0], (800, 1))
    acc = np.vstack([still, acc_w])
    bias = np.deg2rad([0.8, -0.3, 0.2])
    gyr = np.vstack([np.zeros((800, 3)), gyr_w]) + bias
    out = tmp_path / "bias.sacrum"
    simulate(acc, gyr, 200, out, link=link, mtu=mtu)
    table = decode_capture(out)
    assert table.bias_packets >= 6 and table.loss.unknown_packets == 0
    assert table.loss.corrupt_packets == 0 and table.loss.samples_lost == 0
    a = table.acc_mps2.astype(float)
    k = min(range(60), key=lambda j: np.abs(acc[j + 850:j + 1050] - a[850:1050]).max())
    n = len(table)
    sensor = table.gyr_sensor_radps.astype(float)
    tol = np.deg2rad(1 / 16.4) / 2 + 0.5 / sp.GYR_SCALE + 2.0**-12 + 1e-5
    assert np.abs(sensor - gyr[k:k + n]).max() <= tol
    wire_err = np.abs(table.gyr_radps.astype(float) - gyr[k:k + n]).max(axis=1)
    assert wire_err[700 - k:800 - k].min() > 0.01  # the bias learnt at the standing
    rec = load(out)
    np.testing.assert_array_equal(rec.gyr_radps, sensor)
    np.testing.assert_allclose(rec.gyr_radps - rec.gyr_bias_radps, table.gyr_radps, atol=1e-6)

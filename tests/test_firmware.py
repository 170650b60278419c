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

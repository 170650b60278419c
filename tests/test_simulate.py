"""Firmware in the loop: the real firmware under MicroPython turns a recording
into a capture, which the host decodes back into the recording."""

from __future__ import annotations

import re

import numpy as np
import pytest

import sacrum_protocol as sp
from sacrum.apps.cli import main
from sacrum.io.decode import decode_capture
from sacrum.io.imucsv import read_imu_csv
from sacrum.testing.generator import synthetic_walk
from sacrum.testing.simulate import resample, simulate


def _align(table, acc):
    """Offset of the first decoded sample in the input (the stream starts a few
    loop steps after the recording does)."""
    a0 = table.acc_mps2[:20].astype(float)
    errs = [np.nanmax(np.abs(a0 - acc[k:k + 20])) for k in range(60)]
    return int(np.argmin(errs))


@pytest.fixture(scope="module")
def walk():
    _, acc, gyr = synthetic_walk(12, 200, seed=4)
    return acc, gyr


@pytest.mark.parametrize("link, mtu", [("ble", 247), ("ble", 23), ("serial", 247)])
def test_recording_comes_back_through_firmware_and_decoder(tmp_path, walk, link, mtu):
    acc, gyr = walk
    out = tmp_path / "sim.sacrum"
    simulate(acc, gyr, 200, out, link=link, mtu=mtu)
    table = decode_capture(out)
    assert table.loss.samples_lost == 0 and table.loss.corrupt_packets == 0
    assert table.rate_hz == pytest.approx(200)
    assert table.responses == 4 and table.commands == 4  # HELLO, GET_STATUS, START, STOP
    k = _align(table, acc)
    n = len(table)
    assert n > 0.95 * acc.shape[0] - k
    # sensor LSB (8 g: 1/4096 g; 2000 °/s: 1/16.4 °/s) then wire quantisation
    np.testing.assert_allclose(table.acc_mps2, acc[k:k + n], atol=9.81 / 4096 + 1 / 256)
    np.testing.assert_allclose(table.gyr_radps, gyr[k:k + n],
                               atol=np.deg2rad(1 / 16.4) + 1 / 1024 + 0.01)
    np.testing.assert_allclose(np.linalg.norm(table.q, axis=1), 1.0, atol=1e-3)
    dt = np.diff(table.t_s)
    assert np.all(np.abs(dt - 0.005) < 0.0005)


def test_orientation_of_a_tilted_sensor_at_rest(tmp_path):
    tilt = np.deg2rad(30.0)
    acc = np.tile([9.80665 * np.sin(tilt), 0.0, 9.80665 * np.cos(tilt)], (2000, 1))
    gyr = np.zeros((2000, 3))
    out = tmp_path / "tilt.sacrum"
    simulate(acc, gyr, 100, out)
    table = decode_capture(out)
    _, x, y, _ = table.q[-50:].astype(float).mean(axis=0)
    # z axis of the sensor in earth frame: third column of R(q); its angle to up
    zz = 1 - 2 * (x * x + y * y)
    assert np.degrees(np.arccos(zz)) == pytest.approx(30.0, abs=1.0)
    assert np.all(table.flags[-100:] & sp.FLAG_AT_REST)


def test_congested_link_drops_are_counted_at_the_device(tmp_path, walk):
    acc, gyr = walk
    out = tmp_path / "busy.sacrum"
    res = simulate(acc, gyr, 200, out, congestion=1)
    table = decode_capture(out)
    device_dropped = int(re.search(r"(\d+) packets dropped at the device", res.stdout)[1])
    loss = table.loss
    assert loss.packets_dropped_by_device == device_dropped > 0
    assert loss.packets_lost_in_transit == 0
    assert loss.samples_lost == 11 * device_dropped


def test_cli_simulate_from_csv(tmp_path, walk, capsys):
    acc, gyr = walk
    csv = tmp_path / "imu.csv"
    t = np.arange(acc.shape[0]) / 200
    np.savetxt(csv, np.column_stack([t, acc, gyr]), delimiter=",",
               header="t,ax,ay,az,gx,gy,gz", comments="")
    out = tmp_path / "cli.sacrum"
    assert main(["simulate", "--imu", str(csv), "--out", str(out), "--rate", "100"]) == 0
    table = decode_capture(out)
    assert table.rate_hz == pytest.approx(100)
    assert len(table) > 0.95 * acc.shape[0] / 2 - 60
    assert "firmware in the loop" in capsys.readouterr().out


def test_bad_csv_and_rates_give_clear_errors(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("t,ax,ay\n0,1,2\n")
    with pytest.raises(ValueError, match="missing columns"):
        read_imu_csv(bad)
    assert main(["simulate", "--imu", str(bad), "--out", str(tmp_path / "x.sacrum")]) == 1
    assert "missing columns" in capsys.readouterr().err
    with pytest.raises(ValueError, match="rate"):
        simulate(np.zeros((10, 3)), np.zeros((10, 3)), 120, tmp_path / "y.sacrum")


def test_resample_to_the_device_rate():
    t = np.array([0.0, 0.5, 1.0])
    x = np.array([[0.0], [1.0], [0.0]])
    y = resample(t, x, 4)
    np.testing.assert_allclose(y[:, 0], [0, 0.5, 1, 0.5, 0])


# --- faults heal (issue 14) -----------------------------------------------------------
FAULT_AT_S = 4.0
RECONNECT_S = 1.0  # firmware/sim/run.py: the central comes back this long after a drop
EXPECTED_FAULT = {"imu-reset": sp.FAULT_IMU_RESET, "bus-stuck": sp.FAULT_BUS_STUCK,
                  "brownout": sp.FAULT_IMU_POWER, "irq-exception": sp.FAULT_BLE_IRQ,
                  "disconnect": sp.FAULT_LINK_LOST}


RESTARTS_THE_CHIP = ("imu-reset", "brownout")


def _offsets(table, acc, rate=200):
    """Recording index minus row index of every received sample (rows are the
    device's sample count, lost samples NaN rows): one value iff every gap is
    exact. Also checks each sample's time against the recording's: the device
    time of a sample is within half a period (+ host clock mapping) of when
    the emulated chip took it, through every gap."""
    a = table.acc_mps2.astype(float)
    rows = np.nonzero(~np.isnan(a[:, 0]))[0]
    out = set()
    resid = []
    for i in rows:
        lo = max(0, i - 50)
        err = np.abs(acc[lo:i + 50] - a[i]).max(axis=1)
        j = int(np.argmin(err))
        assert err[j] < 9.81 / 4096 + 1 / 256, f"row {i} matches no recorded sample"
        out.add(lo + j - i)
        resid.append(table.t_s[i] - (lo + j) / rate)
    resid = np.asarray(resid)
    assert np.ptp(resid) < 1.0 / rate + 0.002, "a sample's time is off by more than a period"
    return out


def _exact_gaps(kind, offsets):
    """A FIFO restart leaves the sensor's sample clock running: the gap is exact.
    A chip restart starts its sample clock at a new phase the device cannot see
    before the first sample: the nearest index is taken, so an index (never a
    time) may differ by one from the recording's own grid."""
    if kind in RESTARTS_THE_CHIP:
        return max(offsets) - min(offsets) <= 1
    return len(offsets) == 1


def _statuses(res):
    """(device time s, status values) of every GET_STATUS answer on the link."""
    out = []
    for ch, t_us, data in res.link_values:
        if ch == sp.CH_BLE_RESPONSE:
            version, _, op, result, payload = sp.decode_response(data)
            if op == sp.OP_GET_STATUS and result == sp.RESULT_OK:
                out.append((t_us / 1e6, sp.unpack_status(payload, version)[0]))
    return out


@pytest.mark.parametrize("kind, rate", [
    ("imu-reset", 200), ("bus-stuck", 200), ("bus-stuck", 100), ("brownout", 200),
    ("irq-exception", 200), ("disconnect", 200), ("disconnect", 50)])
def test_each_fault_heals_with_an_exact_gap_and_is_reported(tmp_path, kind, rate):
    _, acc, gyr = synthetic_walk(12, rate, seed=4)
    out = tmp_path / "fault.sacrum"
    res = simulate(acc, gyr, rate, out, faults=[f"{kind}@{FAULT_AT_S}"])
    st = res.stats
    assert st["watchdog_resets"] == 0 and not st["handler_disabled"]  # nothing rebooted
    assert st["fault"] == EXPECTED_FAULT[kind] and st["fault_events"] == 1
    table = decode_capture(out)
    assert _exact_gaps(kind, _offsets(table, acc, rate))  # samples after the gap sit right
    lost = np.isnan(table.acc_mps2[:, 0].astype(float))
    assert table.loss.samples_lost == int(lost.sum())
    assert table.loss.packets_lost_in_transit == 0
    t0 = table.t_s[0]  # device start ~ capture start: fault times are device times
    back_s = FAULT_AT_S + (RECONNECT_S if kind == "disconnect" else 0.0)
    after = np.nonzero(~lost & (table.t_s - t0 > FAULT_AT_S - 0.02))[0]
    if lost.any():  # the gap is where the fault was, and streaming resumed within 1 s
        gap_rows = np.nonzero(lost)[0]
        assert abs(table.t_s[gap_rows[0]] - t0 - FAULT_AT_S) < 0.05
        resumed_s = table.t_s[gap_rows[-1] + 1] - t0
        assert resumed_s < back_s + 1.0
        assert table.flags[gap_rows[-1] + 1] & sp.FLAG_RECOVERED
    else:
        assert kind in ("irq-exception", "bus-stuck")  # at 100 Hz the FIFO holds 0.5 s
        assert table.flags[after].any() and (table.flags[after] & sp.FLAG_RECOVERED).any()
    if kind in ("bus-stuck",):
        assert st["bus_recoveries"] >= 1 and st["scl_pulses"] >= 1
    # GET_STATUS after the fault names it; before it, none
    statuses = _statuses(res)
    fault = sp.STATUS_FIELDS.index("fault")
    assert statuses[0][1][fault] == sp.FAULT_NONE
    assert statuses[-1][0] > FAULT_AT_S and statuses[-1][1][fault] == EXPECTED_FAULT[kind]
    if kind == "irq-exception":  # the status asked in the failing event is lost, not the next
        assert len(statuses) == 2 and st["irq_errors"] == 1
    # HELLO chose 1.1, so the status carries the health block: the event is counted
    health = dict(zip(sp.STATUS_EXT_FIELDS, statuses[-1][1][14:], strict=True))
    assert health["fault_events"] == 1 and statuses[0][1][14] == 0
    assert health["irq_errors"] == (1 if kind == "irq-exception" else 0)


def test_reconnect_with_a_larger_mtu_resizes_the_packets(tmp_path, walk):
    acc, gyr = walk
    res = simulate(acc, gyr, 200, tmp_path / "mtu.sacrum", mtu=23, reconnect_mtu=247,
                   faults=[f"disconnect@{FAULT_AT_S}"])
    sizes = []
    for ch, t_us, data in res.link_values:
        if ch == sp.CH_BLE_DATA and data[0] == sp.PTYPE_DATA:
            sizes.append((t_us / 1e6, data[15]))
        elif ch == sp.CH_BLE_DATA and data[0] == sp.PTYPE_SEGMENT and data[3] >> 4 == 0:
            sizes.append((t_us / 1e6, sp.samples_per_packet(23)))
    before = {n for t, n in sizes if t < FAULT_AT_S}
    after = {n for t, n in sizes if t > FAULT_AT_S + RECONNECT_S + 0.1}
    assert before == {sp.samples_per_packet(23)} and after == {sp.MAX_SAMPLES}
    table = decode_capture(tmp_path / "mtu.sacrum")
    assert _exact_gaps("disconnect", _offsets(table, acc))
    assert table.loss.corrupt_packets == 0 and table.loss.incomplete_segments == 0


def test_several_faults_in_one_run(tmp_path, walk):
    acc, gyr = walk
    faults = ["imu-reset@2", "bus-stuck@3.5", "irq-exception@5", "disconnect@6", "brownout@9"]
    res = simulate(acc, gyr, 200, tmp_path / "all.sacrum", faults=faults)
    assert res.stats["fault_events"] == len(faults) and res.stats["watchdog_resets"] == 0
    assert _exact_gaps("imu-reset", _offsets(decode_capture(tmp_path / "all.sacrum"), acc))


def test_cli_fault_option_and_bad_fault_spec(tmp_path, walk, capsys):
    acc, gyr = walk
    csv = tmp_path / "imu.csv"
    t = np.arange(acc.shape[0]) / 200
    np.savetxt(csv, np.column_stack([t, acc, gyr]), delimiter=",",
               header="t,ax,ay,az,gx,gy,gz", comments="")
    out = tmp_path / "cli.sacrum"
    args = ["simulate", "--imu", str(csv), "--out", str(out), "--rate", "200"]
    assert main([*args, "--fault", "imu-reset@3", "--fault", "bus-stuck@6"]) == 0
    assert "2 faults healed" in capsys.readouterr().out
    for bad in ("melt@3", "imu-reset@soon", "imu-reset"):
        assert main([*args, "--fault", bad]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert main([*args, "--link", "serial", "--fault", "disconnect@2"]) == 1
    capsys.readouterr()


# --- the sample path allocates nothing (issue 14) ---------------------------------------
@pytest.mark.parametrize("link, mtu", [("ble", 247), ("ble", 23), ("serial", 247)])
def test_sample_step_runs_with_the_heap_locked(tmp_path, walk, link, mtu):
    """Under the unix port a float operation allocates (a boxed float, as on the
    ESP32): with the heap locked around every sample step, FIFO read, sample
    clock, fusion, packetizer and notify/frame run, or a MemoryError fails the
    run. (What it cannot show: ints of 2^30 and up are heap objects on the
    ESP32 but not here -- tests/test_firmware_fusion.py checks those bounds.)"""
    acc, gyr = walk
    out = tmp_path / "locked.sacrum"
    res = simulate(acc, gyr, 200, out, link=link, mtu=mtu, heap_locked=True)
    assert res.stats["heap_locked"] and res.stats["gc_runs"] <= 1
    table = decode_capture(out)
    assert table.loss.samples_lost == 0 and len(table) > 0.95 * acc.shape[0] - 60


def test_heap_locked_with_every_fault(tmp_path, walk):
    acc, gyr = walk
    faults = ["imu-reset@2", "bus-stuck@3.5", "irq-exception@5", "disconnect@6", "brownout@9"]
    res = simulate(acc, gyr, 200, tmp_path / "lf.sacrum", faults=faults, heap_locked=True)
    assert res.stats["fault_events"] == len(faults)


def test_a_float_in_the_sample_path_fails_the_heap_locked_run(tmp_path, walk, monkeypatch):
    """The check has teeth: the previous float fusion in the sample step fails."""
    import sacrum.testing.simulate as simulate_module

    fw = tmp_path / "fw"
    import shutil

    shutil.copytree(simulate_module.FIRMWARE_DIR, fw)
    shutil.copy(fw / "sim" / "fusion_float.py", fw / "fusion.py")
    (fw / "fusion.py").write_text((fw / "fusion.py").read_text() + '''
GYR_Q = 20
ACC_Q = 16
BIAS_Q = 32


def scale_of(x):
    return 0, 0, 0


def mul(a, m, s):
    return a * 1.5
''')
    monkeypatch.setattr(simulate_module, "FIRMWARE_DIR", fw)
    acc, gyr = walk
    with pytest.raises(simulate_module.SimulationError, match="heap locked"):
        simulate(acc[:400], gyr[:400], 200, tmp_path / "x.sacrum", heap_locked=True)


# --- a current IMU (issue 14) ------------------------------------------------------------
@pytest.mark.parametrize("chip, imu_type", [("icm42688", sp.IMU_ICM42688),
                                            ("mpu6500", sp.IMU_MPU6500),
                                            ("mpu6050", sp.IMU_MPU6050)])
def test_the_imu_is_found_by_who_am_i_and_heals_the_same(tmp_path, walk, chip, imu_type):
    acc, gyr = walk
    out = tmp_path / f"{chip}.sacrum"
    res = simulate(acc, gyr, 200, out, imu_chip=chip, heap_locked=True,
                   faults=["imu-reset@3", "bus-stuck@6"])
    assert res.stats["imu"] == imu_type and res.stats["fault_events"] == 2
    statuses = _statuses(res)
    assert statuses[0][1][sp.STATUS_FIELDS.index("imu_type")] == imu_type
    table = decode_capture(out)
    assert _exact_gaps("imu-reset", _offsets(table, acc))
    assert table.device["imu"].endswith(sp.IMU_NAMES[imu_type])
    with pytest.raises(ValueError, match="IMU chip"):
        simulate(acc, gyr, 200, tmp_path / "x.sacrum", imu_chip="bmi160")

"""Firmware in the loop: the real firmware under MicroPython turns a recording
into a capture, which the host decodes back into the recording."""

from __future__ import annotations

import re

import numpy as np
import pytest

import sacrum_protocol as sp
from sacrum.cli import main
from sacrum.decode import decode_capture
from sacrum.generator import synthetic_walk
from sacrum.imucsv import read_imu_csv
from sacrum.simulate import resample, simulate


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

"""`sacrum orient` and `sacrum events` on a real recording exported from a capture."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from sacrum.apps.cli import DEMO_CAPTURE, main
from sacrum.io.decode import decode_capture
from sacrum.io.imucsv import UnitsError, check_units, read_imu_csv


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("pipe") / "daily.csv"
    assert main(["export", str(DEMO_CAPTURE), "--csv", str(path)]) == 0
    return path


def _inclination_deg(q):
    """Angle between the sensor's x axis (up as worn) and earth up."""
    w, x, y, z = q.T
    return np.degrees(np.arccos(np.clip(2 * (x * z - w * y), -1, 1)))


@pytest.mark.parametrize("offline", [False, True])
def test_orient_agrees_with_the_device_on_inclination(recording, tmp_path, offline):
    out = tmp_path / "q.csv"
    args = ["orient", str(recording), "--out", str(out)] + (["--offline"] if offline else [])
    assert main(args) == 0
    q = np.loadtxt(out, delimiter=",", skiprows=1)
    device = decode_capture(DEMO_CAPTURE)
    assert q.shape == (len(device), 5)
    np.testing.assert_allclose(np.linalg.norm(q[:, 1:], axis=1), 1.0, atol=1e-9)
    # the sensor's x axis (worn up): its tilt from vertical per the host and the device
    host = 90 - _inclination_deg(q[200:, 1:])
    dev = 90 - _inclination_deg(device.q[200:].astype(float))
    assert np.median(np.abs(host - dev)) < 1.0


def test_events_finds_steps_in_the_walking_bouts_with_both_sides(recording, tmp_path, capsys):
    out = tmp_path / "ev.csv"
    assert main(["events", str(recording), "--out", str(out), "--mount", "recommended"]) == 0
    with open(out) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["t", "event", "side"]
    ics = [r for r in rows if r["event"] == "IC"]
    tasks = decode_capture(DEMO_CAPTURE).tasks()
    inside = [r for r in ics if any(a - 0.5 <= float(r["t"]) <= b + 0.5 for _, a, b in tasks)]
    assert len(ics) > 60 and len(inside) / len(ics) > 0.8
    sides = [r["side"] for r in ics]
    assert 0.35 < sides.count("L") / len(sides) < 0.65
    assert "initial contacts" in capsys.readouterr().out


def test_recordings_in_g_or_degrees_are_refused_with_the_fix(tmp_path, capsys):
    t = np.arange(500) / 100
    acc = np.tile([0.0, 0.0, 1.0], (500, 1))  # g
    gyr = np.zeros((500, 3))
    with pytest.raises(UnitsError, match="in g"):
        check_units(acc, gyr)
    with pytest.raises(UnitsError, match="°/s"):
        check_units(acc * 9.81, np.tile([0.0, 0.0, 90.0], (500, 1)))
    path = tmp_path / "g.csv"
    np.savetxt(path, np.column_stack([t, acc, gyr]), delimiter=",",
               header="t,ax,ay,az,gx,gy,gz", comments="")
    assert main(["orient", str(path), "--out", str(tmp_path / "q.csv")]) == 1
    assert "multiply ax, ay, az by 9.80665" in capsys.readouterr().err


def test_lost_samples_stay_nan_rows_through_orient(tmp_path):
    t = np.arange(1000) / 100
    acc = np.tile([0.0, 0.0, 9.81], (1000, 1))
    acc[300:310] = np.nan
    path = tmp_path / "gap.csv"
    np.savetxt(path, np.column_stack([t, acc, np.zeros((1000, 3))]), delimiter=",",
               header="t,ax,ay,az,gx,gy,gz", comments="")
    t2, acc2, _ = read_imu_csv(path)
    assert np.isnan(acc2[300:310]).all() and len(t2) == 1000
    out = tmp_path / "q.csv"
    assert main(["orient", str(path), "--out", str(out)]) == 0
    q = np.genfromtxt(out, delimiter=",", skip_header=1)
    assert np.isnan(q[300:310, 1:]).all() and np.isfinite(q[310:, 1:]).all()

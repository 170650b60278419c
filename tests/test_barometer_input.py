"""The barometer channel of an IMU CSV (``p_hpa``) reaches the stair finder of
``sacrum analyze``; the real Mobilise-D daily-activities trial (lower-back IMU with its
barometer, ../shared/data/mobgap, Apache-2.0) has no change of floor, and none is found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sacrum.analysis import analyze, read_input
from sacrum.io.imucsv import UnitsError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mobgap" / "HA" / "001"
G = 9.80665


def _write_csv(path: Path, t, acc, gyr, p=None) -> Path:
    cols = [t[:, None], acc, gyr] + ([p[:, None]] if p is not None else [])
    header = "t,ax,ay,az,gx,gy,gz" + (",p_hpa" if p is not None else "")
    np.savetxt(path, np.hstack(cols), delimiter=",", header=header, comments="", fmt="%.6f")
    return path


@pytest.fixture(scope="module")
def daily_csv(tmp_path_factory) -> Path:
    if not (DATA / "data.mat").exists():
        pytest.skip("../shared/data/mobgap is not here")
    import scipy.io as sio

    d = sio.loadmat(DATA / "data.mat", simplify_cells=True)["data"]
    su = d["TimeMeasure1"]["Test11"]["Trial1"]["SU"]["LowerBack"]
    acc = np.asarray(su["Acc"], float) * G
    gyr = np.deg2rad(np.asarray(su["Gyr"], float))
    p = np.asarray(su["Bar"], float).reshape(-1)
    t = np.arange(len(acc)) / float(su["Fs"]["Acc"])
    return _write_csv(tmp_path_factory.mktemp("baro") / "daily.csv", t, acc, gyr, p)


def test_the_pressure_column_is_read_in_hpa(daily_csv):
    rec = read_input(daily_csv)
    assert rec.pressure_hpa is not None and len(rec.pressure_hpa) == len(rec.t_s)
    assert 900 < np.median(rec.pressure_hpa) < 1100


def test_pressure_in_pascal_is_refused_with_the_factor(tmp_path):
    t = np.arange(200) / 100.0
    acc = np.tile([0.0, 0.0, G], (200, 1))
    path = _write_csv(tmp_path / "pa.csv", t, acc, np.zeros((200, 3)), np.full(200, 100800.0))
    with pytest.raises(UnitsError, match="hPa"):
        read_input(path)


def test_real_daily_activities_with_their_barometer_have_no_stairs(daily_csv):
    doc = analyze(daily_csv).to_json()
    stairs = doc["stairs"]
    assert stairs["searched"] is True and stairs["barometer"] is True
    assert stairs["segments"] == [], stairs
    assert not any(t["task"].startswith("stairs") for t in doc["summary"]["tasks"])


def test_the_barometer_reaches_the_stair_finder(daily_csv, tmp_path):
    """The same real walking with a floor's worth of pressure fall (3 m ≈ 0.36 hPa) laid
    over 40-50 s: now a stair ascent is found there, on the barometer's evidence."""
    rec = read_input(daily_csv)
    t = rec.t_s
    p = rec.pressure_hpa - 0.36 * np.clip((t - 40.0) / 10.0, 0.0, 1.0)
    doc = analyze(_write_csv(tmp_path / "up.csv", t, rec.acc_mps2, rec.gyr_radps, p)).to_json()
    assert doc["stairs"]["barometer"] is True
    (seg,) = doc["stairs"]["segments"]
    assert seg["direction"] == "up" and 38.0 < seg["t_start_s"] < seg["t_end_s"] < 52.0
    assert "barometer" in seg["evidence"]

"""IMU CSV input: rows a logger left out (t jumps) are lost samples, as empty cells are."""

from __future__ import annotations

import numpy as np
import pytest

from sacrum.analysis import analyze
from sacrum.io.imucsv import fill_time_gaps, read_imu_csv, read_pressure
from sacrum.testing.walking_phantom import walking_phantom

HEADER = "t,ax,ay,az,gx,gy,gz"


def _write(path, t, acc, gyr, extra=None):
    cols = [t[:, None], acc, gyr] + ([extra[:, None]] if extra is not None else [])
    np.savetxt(path, np.hstack(cols), delimiter=",", comments="",
               header=HEADER + (",p_hpa" if extra is not None else ""), fmt="%.9g")
    return path


def test_missing_rows_become_nan_rows_on_the_sample_grid():
    t = np.arange(20) / 100.0
    keep = np.r_[0:5, 9:20]  # rows 5-8 never written
    tf, xf = fill_time_gaps(t[keep], np.arange(20.0)[keep, None])
    np.testing.assert_allclose(tf, t, atol=1e-12)
    assert np.isnan(xf[5:9]).all() and np.array_equal(xf[keep, 0], keep.astype(float))
    # no jump: the same arrays back
    same_t, same_x = fill_time_gaps(t, np.ones((20, 3)))
    assert same_t is t and same_x.shape == (20, 3)


def test_a_jump_of_hours_is_refused_not_filled():
    t = np.r_[np.arange(100) / 100.0, 7200.0 + np.arange(100) / 100.0]
    with pytest.raises(ValueError, match="two recordings in one file"):
        fill_time_gaps(t, np.zeros((200, 6)))


def test_a_walk_with_rows_left_out_analyses_as_the_one_with_empty_cells(tmp_path):
    ph = walking_phantom(n_steps=40, seed=4)
    t, acc, gyr = ph["t"], ph["acc"], ph["gyr"]
    gap = (t > 12.0) & (t < 12.4)  # 0.4 s lost in the middle of the walk
    acc_nan, gyr_nan = acc.copy(), gyr.copy()
    acc_nan[gap], gyr_nan[gap] = np.nan, np.nan
    with_nan = _write(tmp_path / "nan.csv", t, acc_nan, gyr_nan)
    without = _write(tmp_path / "rows.csv", t[~gap], acc[~gap], gyr[~gap])
    t2, acc2, _ = read_imu_csv(without)
    assert len(t2) == len(t) and int(np.isnan(acc2[:, 0]).sum()) == int(gap.sum())
    a, b = analyze(with_nan).to_json(), analyze(without).to_json()
    assert b["loss"]["samples_lost"] == a["loss"]["samples_lost"] == int(gap.sum())
    assert b["loss"]["gaps"] == a["loss"]["gaps"] == 1
    assert [s["t_ic"] for s in b["steps"]] == pytest.approx([s["t_ic"] for s in a["steps"]])
    assert b["summary"]["contralateral_drop_deg"] == pytest.approx(
        a["summary"]["contralateral_drop_deg"])


def test_the_barometer_column_stays_aligned_with_the_filled_rows(tmp_path):
    t = np.arange(300) / 100.0
    keep = np.r_[0:100, 110:300]
    acc = np.tile([0.0, 0.0, 9.81], (300, 1))
    p = 1000.0 + t
    path = _write(tmp_path / "p.csv", t[keep], acc[keep], np.zeros((300, 3))[keep], p[keep])
    t_read, _, _ = read_imu_csv(path)
    p_read = read_pressure(path, len(t_read))
    assert len(p_read) == 300 and np.isnan(p_read[100:110]).all()
    np.testing.assert_allclose(p_read[keep], p[keep])

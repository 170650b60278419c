"""IMU recordings as CSV: ``t`` (s), ``ax, ay, az`` (m/s²), ``gx, gy, gz`` (rad/s), sensor frame.

An optional column ``p_hpa`` (barometric pressure, hPa) is read by :func:`read_pressure`
for the stair finder (``sacrum analyze``); the other commands ignore it.

The format the pipeline's CSV commands read (``sacrum orient``, ``sacrum
events``, ``sacrum simulate``) and ``sacrum export`` writes (plus more
columns). Units are checked, because a recording in g or °/s is the most
common mistake and silently ruins every angle downstream.
"""

from __future__ import annotations

import os

import numpy as np

G_MPS2 = 9.80665
COLUMNS = ("t", "ax", "ay", "az", "gx", "gy", "gz")
PRESSURE_COLUMN = "p_hpa"
# pressure at any inhabited altitude is within this range (hPa); Pa or kPa fall outside
_PRESSURE_RANGE_HPA = (300.0, 1100.0)
# A sacrum-range gyroscope never exceeds 32 rad/s; human pelvis motion stays far
# below it, while the same motion in °/s easily exceeds it.
_GYR_DEG_HINT_RADPS = 20.0


class UnitsError(ValueError):
    """The numbers do not look like SI units (the message says what they look like)."""


def check_units(acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> None:
    """Raise UnitsError if acc looks like g or gyr like °/s."""
    norm = np.linalg.norm(acc_mps2, axis=1)
    norm = norm[np.isfinite(norm)]
    if norm.size:
        med = float(np.median(norm))
        if 0.5 < med < 2.0:
            raise UnitsError(
                f"acceleration looks like it is in g (median magnitude {med:.2f}; at rest it "
                f"is 9.81 m/s²): multiply ax, ay, az by {G_MPS2}")
        if not 4.0 < med < 40.0:
            raise UnitsError(f"acceleration magnitude {med:.3g} is not plausible in m/s² "
                             "(9.81 at rest)")
    g = np.abs(gyr_radps[np.isfinite(gyr_radps).all(axis=1)])
    if g.size and float(np.percentile(g, 99)) > _GYR_DEG_HINT_RADPS:
        raise UnitsError(
            f"angular rate looks like it is in °/s (99th percentile {np.percentile(g, 99):.0f}): "
            "multiply gx, gy, gz by π/180")


def read_imu_csv(path: str | os.PathLike, *, check: bool = True
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_s, acc_mps2 (N,3), gyr_radps (N,3)) from a recording CSV.

    Empty or NaN cells are lost samples (NaN rows, kept at their time).
    """
    with open(path) as f:
        header = [h.strip() for h in f.readline().split(",")]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}; need {', '.join(COLUMNS)}")
    cols = [header.index(c) for c in COLUMNS]
    data = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=cols, ndmin=2)
    data = data[np.isfinite(data[:, 0])]
    if data.shape[0] < 2:
        raise ValueError(f"{path}: fewer than two rows with a time")
    if np.any(np.diff(data[:, 0]) <= 0):
        raise ValueError(f"{path}: column t must increase")
    t, acc, gyr = data[:, 0], data[:, 1:4], data[:, 4:7]
    if check:
        check_units(acc, gyr)
    return t, acc, gyr


def read_pressure(path: str | os.PathLike, n_rows: int) -> np.ndarray | None:
    """The ``p_hpa`` column (hPa, NaN where empty) aligned with :func:`read_imu_csv`'s rows,
    or None when the file has none. Raises UnitsError when it is not in hPa."""
    with open(path) as f:
        header = [h.strip() for h in f.readline().split(",")]
    if PRESSURE_COLUMN not in header:
        return None
    cols = [header.index("t"), header.index(PRESSURE_COLUMN)]
    data = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=cols, ndmin=2)
    p = data[np.isfinite(data[:, 0]), 1]
    if len(p) != n_rows:
        raise ValueError(f"{path}: column {PRESSURE_COLUMN} has {len(p)} rows, not {n_rows}")
    ok = p[np.isfinite(p)]
    if ok.size:
        med = float(np.median(ok))
        lo, hi = _PRESSURE_RANGE_HPA
        if not lo <= med <= hi:
            raise UnitsError(f"{PRESSURE_COLUMN}: median {med:.6g} is not a pressure in hPa "
                             f"({lo:g}-{hi:g} anywhere people live; Pa would be 100x, "
                             "kPa 1/10)")
    return p


def rate_of(t_s: np.ndarray) -> float:
    """Sample rate (Hz) from the median interval of t_s."""
    dt = np.diff(t_s)
    dt = dt[np.isfinite(dt) & (dt > 0)]
    if not dt.size:
        raise ValueError("cannot tell the sample rate from t")
    return 1.0 / float(np.median(dt))

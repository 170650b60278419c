"""Exports for the tools researchers already use (docs/exports.md, every column).

- :func:`write_samples_csv`: one row per sample: time, loss, the orientation, the IMU in the
  sensor frame (SI), and the pelvic angles (degrees) and initial contacts the analysis used.
- :func:`write_steps_csv`: one row per step of the analysis (``Analysis.steps``).
- :func:`write_mobgap_csv`: the lower-back IMU table mobgap (the Mobilise-D pipeline) reads:
  ``acc_x/y/z`` (m/s²) and ``gyr_x/y/z`` (deg/s) in the Mobilise-D sensor frame (x up,
  y right, z forward), indexed by ``t_s``.
- :func:`write_opensense_sto`: the orientation of the pelvis sensor as the quaternion table
  OpenSense's IMU inverse kinematics reads (``DataType=Quaternion``).

Every table is a rendering of one :class:`sacrum.analysis.Analysis` (``sacrum.analyze``
of the input, run once): the per-step table is its ``steps``, the per-sample angles,
orientation, mounting and ICs its ``samples``, ``events`` and ``q_sensor_to_body``; nothing
here wires a stage.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sacrum.io.private_files import open_private

if TYPE_CHECKING:
    from sacrum.analysis import Analysis

log = logging.getLogger(__name__)

SAMPLE_COLUMNS = ("t_s", "lost", "qw", "qx", "qy", "qz",
                  "acc_x_mps2", "acc_y_mps2", "acc_z_mps2",
                  "gyr_x_radps", "gyr_y_radps", "gyr_z_radps",
                  "tilt_deg", "obliquity_deg", "rotation_deg", "heading_deg", "ic",
                  "heading_settled")
STEP_COLUMNS = ("index", "task", "stance_side", "t_ic_s", "step_time_s", "stride_time_s",
                  "contralateral_drop_deg", "drop_time_pct", "obliquity_rom_deg",
                  "tilt_rom_deg", "rotation_rom_deg", "mean_tilt_deg", "excluded", "bout")
#: The former name of :data:`STEP_COLUMNS`.
STRIDE_COLUMNS = STEP_COLUMNS
MOBGAP_COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
#: The Mobilise-D lower-back sensor frame in our body frame (x anterior, y left, z up):
#: x = up (inferior→superior), y = right, z = forward (posterior→anterior).
_MOBGAP_FROM_BODY = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])
STO_COLUMN = "pelvis_imu"


def _nearest_rows(t_s: np.ndarray, times: list[float]) -> np.ndarray:
    i = np.clip(np.searchsorted(t_s, times), 1, len(t_s) - 1)
    return np.where(np.abs(t_s[i - 1] - times) <= np.abs(t_s[i] - times), i - 1, i)


def write_samples_csv(analysis: Analysis, path: str | os.PathLike) -> int:
    """One row per sample of ``analysis.samples`` (columns :data:`SAMPLE_COLUMNS`,
    docs/exports.md; angles in degrees, the ICs of ``analysis.events``); lost samples are
    rows of empty values with ``lost`` 1. Returns the rows written."""
    smp = analysis.samples
    t_s = smp["t_s"].to_numpy(float)
    n = len(t_s)
    lost = smp["gap"].to_numpy(bool)
    ic = np.full(n, "", dtype=object)
    ev = analysis.events
    ics = ev[ev["kind"] == "IC"]
    if len(ics):
        ic[_nearest_rows(t_s, ics["t_s"].to_numpy(float))] = ics["side"].to_numpy(object)
    num = np.column_stack(
        [smp[c].to_numpy(float) for c in ("qw", "qx", "qy", "qz")]
        + [smp[f"acc_{a}_mps2"].to_numpy(float) for a in "xyz"]
        + [smp[f"gyr_{a}_radps"].to_numpy(float) for a in "xyz"]
        + [np.degrees(smp[c].to_numpy(float))
           for c in ("tilt_rad", "obliquity_rad", "rotation_rad", "heading_rad")])
    settled = smp["heading_settled"].to_numpy(bool)
    with open_private(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SAMPLE_COLUMNS)
        for k in range(n):
            w.writerow([f"{t_s[k]:.6f}", int(lost[k])]
                       + ["" if not math.isfinite(v) else f"{v:.7g}" for v in num[k]]
                       + [ic[k], int(settled[k])])
    return n


def write_steps_csv(analysis: Analysis, path: str | os.PathLike) -> int:
    """One row per step of ``analysis.steps`` (columns :data:`STEP_COLUMNS`, degrees as the
    document; a null or NaN value is an empty cell). Returns the rows written."""
    steps = analysis.steps
    with open_private(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(STEP_COLUMNS)
        for row in steps[list(STEP_COLUMNS)].itertuples(index=False):
            w.writerow(["" if v is None or (isinstance(v, float) and not math.isfinite(v))
                        else v for v in row])
    return len(steps)


def _columns(analysis: Analysis, kind: str, unit: str) -> np.ndarray:
    return np.column_stack([analysis.samples[f"{kind}_{a}_{unit}"].to_numpy(float)
                            for a in "xyz"])


def mobgap_table(analysis: Analysis) -> tuple[np.ndarray, np.ndarray, int]:
    """(t_s (N,), values (N, 6) acc m/s² then gyr deg/s in the Mobilise-D sensor frame,
    number of lost samples filled by linear interpolation: mobgap's filters need
    gap-free data). The body frame is the analysis' levelled mounting."""
    from sacrum.signal.quaternion import quat_rotate

    rot = _MOBGAP_FROM_BODY
    acc_s = _columns(analysis, "acc", "mps2")
    q_body = np.broadcast_to(analysis.q_sensor_to_body, (len(acc_s), 4))
    acc = quat_rotate(q_body, acc_s) @ rot.T
    gyr = np.degrees(quat_rotate(q_body, _columns(analysis, "gyr", "radps")) @ rot.T)
    values = np.column_stack([acc, gyr])
    bad = ~np.isfinite(values).all(axis=1)
    if bad.all():
        raise ValueError("no samples to export: every sample was lost")
    if bad.any():
        good = np.flatnonzero(~bad)
        for j in range(values.shape[1]):
            values[bad, j] = np.interp(np.flatnonzero(bad), good, values[good, j])
    return analysis.samples["t_s"].to_numpy(float), values, int(bad.sum())


def write_mobgap_csv(analysis: Analysis, path: str | os.PathLike) -> int:
    """The mobgap input table (:func:`mobgap_table`) as CSV with a ``t_s`` index column;
    ``pandas.read_csv(path, index_col="t_s")`` gives the DataFrame mobgap's algorithms take
    (sensor frame; ``mobgap.utils.conversions.to_body_frame`` gives the body frame).
    Returns the number of interpolated (lost) samples."""
    t, values, filled = mobgap_table(analysis)
    with open_private(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("t_s", *MOBGAP_COLUMNS))
        for k in range(len(t)):
            w.writerow([f"{t[k]:.6f}"] + [f"{v:.7g}" for v in values[k]])
    if filled:
        log.info("%s: %d lost samples filled by linear interpolation", path, filled)
    return filled


def write_opensense_sto(analysis: Analysis, path: str | os.PathLike,
                        column: str = STO_COLUMN) -> int:
    """The orientation ``q_sensor_to_earth`` of the pelvis sensor as an OpenSim Storage
    quaternion table (the orientations file OpenSense's IMU inverse kinematics reads)::

        DataRate=100.000000
        DataType=Quaternion
        version=3
        OpenSimVersion=4.5
        endheader
        time	pelvis_imu
        0.000000	0.99,0.01,0.02,0.03

    Each quaternion is ``w,x,y,z`` in one tab-separated column named after the model's
    IMU frame (``pelvis_imu``). Time starts at 0. The earth frame is z up: OpenSense's
    ``sensor_to_opensim_rotations`` of -90° about x turns it into OpenSim's y-up ground.
    Lost samples are left out (the times say where). Returns the rows written."""
    smp = analysis.samples
    q = np.column_stack([smp[c].to_numpy(float) for c in ("qw", "qx", "qy", "qz")])
    t_s = smp["t_s"].to_numpy(float)
    ok = np.isfinite(q).all(axis=1)
    q = q[ok] / np.linalg.norm(q[ok], axis=1, keepdims=True)
    t = t_s[ok] - t_s[0]
    with open_private(path, "w", newline="\n", encoding="ascii") as f:
        f.write(f"DataRate={analysis.recording.rate_hz:.6f}\nDataType=Quaternion\nversion=3\n"
                f"OpenSimVersion=4.5\nendheader\ntime\t{column}\n")
        for k in range(len(t)):
            f.write(f"{t[k]:.6f}\t{q[k, 0]:.8f},{q[k, 1]:.8f},{q[k, 2]:.8f},{q[k, 3]:.8f}\n")
    return len(t)


def read_opensense_sto(path: str | os.PathLike) -> tuple[dict[str, str], list[str],
                                                        np.ndarray, np.ndarray]:
    """(header, column names, time (N,), quaternions (N, 4)) of a quaternion .sto (the
    first IMU column): for checking what :func:`write_opensense_sto` wrote."""
    header: dict[str, str] = {}
    lines = Path(path).read_text(encoding="ascii").splitlines()
    k = 0
    while lines[k] != "endheader":
        key, _, value = lines[k].partition("=")
        header[key] = value
        k += 1
    columns = lines[k + 1].split("\t")
    rows = [ln.split("\t") for ln in lines[k + 2:] if ln]
    t = np.array([float(r[0]) for r in rows])
    q = np.array([[float(v) for v in r[1].split(",")] for r in rows])
    return header, columns, t, q

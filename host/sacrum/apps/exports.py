"""Exports for the tools researchers already use (docs/exports.md, every column).

- :func:`write_samples_csv`: one row per sample: time, loss, the orientation, the IMU in the
  sensor frame (SI), and the pelvic angles (degrees) and initial contacts the analysis used.
- :func:`write_strides_csv`: one row per step of the analysis document (``strides``).
- :func:`write_mobgap_csv`: the lower-back IMU table mobgap (the Mobilise-D pipeline) reads:
  ``acc_x/y/z`` (m/s²) and ``gyr_x/y/z`` (deg/s) in the Mobilise-D sensor frame (x up,
  y right, z forward), indexed by ``t_s``.
- :func:`write_opensense_sto`: the orientation of the pelvis sensor as the quaternion table
  OpenSense's IMU inverse kinematics reads (``DataType=Quaternion``).

Everything comes from the analysis: the per-stride table is the analysis document's
``strides``; the per-sample angles, orientation and mounting are those of
``pipeline.analyze_recording`` run on the same input with the same options, the function
``sacrum.analysis.analyze`` runs (steps 1–2 of its docstring), not a second implementation.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_COLUMNS = ("t_s", "lost", "qw", "qx", "qy", "qz",
                  "acc_x_mps2", "acc_y_mps2", "acc_z_mps2",
                  "gyr_x_radps", "gyr_y_radps", "gyr_z_radps",
                  "tilt_deg", "obliquity_deg", "rotation_deg", "heading_deg", "ic",
                  "heading_settled")
STRIDE_COLUMNS = ("index", "task", "stance_side", "t_ic_s", "step_time_s", "stride_time_s",
                  "contralateral_drop_deg", "drop_time_pct", "obliquity_rom_deg",
                  "tilt_rom_deg", "rotation_rom_deg", "mean_tilt_deg", "excluded", "bout")
MOBGAP_COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
#: The Mobilise-D lower-back sensor frame in our body frame (x anterior, y left, z up):
#: x = up (inferior→superior), y = right, z = forward (posterior→anterior).
_MOBGAP_FROM_BODY = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])
STO_COLUMN = "pelvis_imu"


@dataclass
class SampleData:
    """The analysis' per-sample data, SI: t_s (N,) s; q_sensor_to_earth (N, 4); acc_mps2,
    gyr_radps (N, 3) sensor frame; angles_rad (N, 3) tilt, obliquity, rotation;
    heading_rad (N,); ics [(t_s, side)]; q_sensor_to_body (4,) the levelled mounting the
    angles used; rate_hz; heading_settled (N,) bool, RecordingAnalysis.heading_settled."""

    t_s: np.ndarray
    q_sensor_to_earth: np.ndarray
    acc_mps2: np.ndarray
    gyr_radps: np.ndarray
    angles_rad: np.ndarray
    heading_rad: np.ndarray
    ics: list[tuple[float, str]]
    q_sensor_to_body: np.ndarray
    rate_hz: float
    heading_settled: np.ndarray | None = None


def sample_data(input_path: str | os.PathLike, *, mount: str | None = None,
                check_units: bool = True) -> SampleData:
    """Steps 1–2 of ``sacrum.analysis.analyze`` on the input: the samples and what the
    pipeline made of them."""
    from sacrum.analysis import read_input
    from sacrum.gait import events_in_bouts
    from sacrum.signal.mounting import parse_mount
    from sacrum.signal.pipeline import analyze_recording

    rec = read_input(input_path, check_units=check_units)
    res = analyze_recording(rec.t_s, rec.acc_mps2, rec.gyr_radps, rec.rate_hz,
                            q_sensor_to_earth=rec.q_sensor_to_earth,
                            q_sensor_to_body=parse_mount(mount) if mount else None)
    events = events_in_bouts(res.events, res.gait.bouts)
    q_body = (res.calibration.q_sensor_to_body if res.calibration is not None
              else res.q_sensor_to_body)
    return SampleData(res.t_s, np.asarray(res.q_sensor_to_earth, float), rec.acc_mps2,
                      rec.gyr_radps, res.angles_rad, res.heading_rad,
                      [(e.t_s, e.side) for e in events if e.kind == "IC"],
                      np.asarray(q_body, float), rec.rate_hz, res.heading_settled)


def _nearest_rows(t_s: np.ndarray, times: list[float]) -> np.ndarray:
    i = np.clip(np.searchsorted(t_s, times), 1, len(t_s) - 1)
    return np.where(np.abs(t_s[i - 1] - times) <= np.abs(t_s[i] - times), i - 1, i)


def write_samples_csv(data: SampleData, path: str | os.PathLike) -> int:
    """One row per sample (columns :data:`SAMPLE_COLUMNS`, docs/exports.md); lost samples
    are rows of empty values with ``lost`` 1. Returns the rows written."""
    n = len(data.t_s)
    lost = ~(np.isfinite(data.acc_mps2).all(axis=1) & np.isfinite(data.gyr_radps).all(axis=1))
    ic = np.full(n, "", dtype=object)
    if data.ics:
        ic[_nearest_rows(data.t_s, [t for t, _ in data.ics])] = [s for _, s in data.ics]
    num = np.column_stack([data.q_sensor_to_earth, data.acc_mps2, data.gyr_radps,
                           np.degrees(data.angles_rad), np.degrees(data.heading_rad)])
    settled = (np.zeros(n, bool) if data.heading_settled is None
               else np.asarray(data.heading_settled, bool))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(SAMPLE_COLUMNS)
        for k in range(n):
            w.writerow([f"{data.t_s[k]:.6f}", int(lost[k])]
                       + ["" if not math.isfinite(v) else f"{v:.7g}" for v in num[k]]
                       + [ic[k], int(settled[k])])
    return n


def write_strides_csv(doc: dict[str, Any], path: str | os.PathLike) -> int:
    """One row per step of the analysis document (columns :data:`STRIDE_COLUMNS`; a null
    value is an empty cell). Returns the rows written."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(STRIDE_COLUMNS)
        for s in doc["strides"]:
            row = {**s, "t_ic_s": s["t_ic"]}
            w.writerow(["" if row.get(c) is None else row[c] for c in STRIDE_COLUMNS])
    return len(doc["strides"])


def mobgap_table(data: SampleData) -> tuple[np.ndarray, np.ndarray, int]:
    """(t_s (N,), values (N, 6) acc m/s² then gyr deg/s in the Mobilise-D sensor frame,
    number of lost samples filled by linear interpolation: mobgap's filters need
    gap-free data)."""
    from sacrum.scoring.tasks import to_body_frame

    rot = _MOBGAP_FROM_BODY
    acc = to_body_frame(data.acc_mps2, data.q_sensor_to_body) @ rot.T
    gyr = np.degrees(to_body_frame(data.gyr_radps, data.q_sensor_to_body) @ rot.T)
    values = np.column_stack([acc, gyr])
    bad = ~np.isfinite(values).all(axis=1)
    if bad.all():
        raise ValueError("no samples to export: every sample was lost")
    if bad.any():
        good = np.flatnonzero(~bad)
        for j in range(values.shape[1]):
            values[bad, j] = np.interp(np.flatnonzero(bad), good, values[good, j])
    return data.t_s, values, int(bad.sum())


def write_mobgap_csv(data: SampleData, path: str | os.PathLike) -> int:
    """The mobgap input table (:func:`mobgap_table`) as CSV with a ``t_s`` index column;
    ``pandas.read_csv(path, index_col="t_s")`` gives the DataFrame mobgap's algorithms take
    (sensor frame; ``mobgap.utils.conversions.to_body_frame`` gives the body frame).
    Returns the number of interpolated (lost) samples."""
    t, values, filled = mobgap_table(data)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(("t_s", *MOBGAP_COLUMNS))
        for k in range(len(t)):
            w.writerow([f"{t[k]:.6f}"] + [f"{v:.7g}" for v in values[k]])
    if filled:
        log.info("%s: %d lost samples filled by linear interpolation", path, filled)
    return filled


def write_opensense_sto(data: SampleData, path: str | os.PathLike,
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
    q = np.asarray(data.q_sensor_to_earth, float)
    ok = np.isfinite(q).all(axis=1)
    q = q[ok] / np.linalg.norm(q[ok], axis=1, keepdims=True)
    t = data.t_s[ok] - data.t_s[0]
    with open(path, "w", newline="\n", encoding="ascii") as f:
        f.write(f"DataRate={data.rate_hz:.6f}\nDataType=Quaternion\nversion=3\n"
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

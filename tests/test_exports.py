"""Exports (sacrum.apps.exports): per-sample and per-step CSV, the mobgap table checked by running
mobgap's gait-sequence and initial-contact detectors and laterality on it, and the OpenSense
quaternion .sto. Fixture: the Mobilise-D example walk (examples/, real data)."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from sacrum.analysis import analyze
from sacrum.apps import exports
from sacrum.apps.cli import main
from sacrum.signal.quaternion import quat_rotate

DAILY = Path(__file__).resolve().parents[1] / "examples" / "mobgap_ha001_daily_activities.sacrum"


@pytest.fixture(scope="module")
def data():
    """The one analysis every table is written from."""
    return analyze(DAILY)


@pytest.fixture(scope="module")
def doc(data) -> dict:
    return data.to_json()


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_per_sample_angles_are_the_ones_the_drops_came_from(data, doc, tmp_path):
    out = tmp_path / "samples.csv"
    assert exports.write_samples_csv(data, out) == doc["input"]["samples"]
    rows = _read(out)
    assert tuple(rows[0]) == exports.SAMPLE_COLUMNS
    t = np.array([float(r["t_s"]) for r in rows])
    obl = np.array([float(r["obliquity_deg"]) for r in rows])
    # every used step's drop, from the exported obliquity: the peak towards the swing side
    # in the first 60 % of the step (StepMetrics.contralateral_drop_deg)
    checked = 0
    for s in doc["steps"]:
        if s["excluded"] is not None:
            continue
        m = (t >= s["t_ic"] - 1e-6) & (t <= s["t_ic"] + 0.6 * s["step_time_s"] + 1e-6)
        sign = 1.0 if s["stance_side"] == "L" else -1.0
        assert np.max(sign * obl[m]) == pytest.approx(s["contralateral_drop_deg"], abs=0.05)
        checked += 1
    assert checked == sum(s["excluded"] is None for s in doc["steps"]) > 5
    ics = [(float(r["t_s"]), r["ic"]) for r in rows if r["ic"]]
    assert len(ics) >= len(doc["steps"])
    q = np.array([[float(r[c]) for c in ("qw", "qx", "qy", "qz")] for r in rows[:50]])
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-3)  # int16 on the wire


def test_per_step_csv_is_the_analysis_steps(data, doc, tmp_path):
    out = tmp_path / "steps.csv"
    assert exports.write_steps_csv(data, out) == len(doc["steps"])
    rows = _read(out)
    assert len(rows) == len(doc["steps"])
    for r, s in zip(rows, doc["steps"], strict=True):
        assert float(r["t_ic_s"]) == pytest.approx(s["t_ic"])
        assert r["stance_side"] == s["stance_side"]
        assert r["excluded"] == (s["excluded"] or "")
        d = s["contralateral_drop_deg"]
        assert (r["contralateral_drop_deg"] == "") if d is None else \
            float(r["contralateral_drop_deg"]) == pytest.approx(d)


def test_mobgap_reads_the_table_and_finds_our_steps(data, doc, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("mobgap")
    from mobgap.gait_sequences import GsdIluz
    from mobgap.initial_contacts import IcdIonescu
    from mobgap.laterality import LrcMcCamley
    from mobgap.utils.conversions import to_body_frame

    out = tmp_path / "mobgap.csv"
    assert exports.write_mobgap_csv(data, out) == 0  # no lost samples to fill
    df = pd.read_csv(out, index_col="t_s")
    assert list(df.columns) == list(exports.MOBGAP_COLUMNS)
    # the Mobilise-D sensor frame: x up (≈ +g upright), gyroscope in deg/s
    assert df["acc_x"].median() == pytest.approx(9.81, abs=0.5)
    body = to_body_frame(df.reset_index(drop=True))
    fs = data.recording.rate_hz
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gs = GsdIluz().detect(body, sampling_rate_hz=fs).gs_list_
        assert len(gs) >= 3
        found = []
        for _, g in gs.iterrows():
            seg = body.iloc[g.start:g.end].reset_index(drop=True)
            ic = IcdIonescu().detect(seg, sampling_rate_hz=fs).ic_list_
            lr = LrcMcCamley().predict(seg, ic, sampling_rate_hz=fs).ic_lr_list_
            found += [(df.index[g.start + int(r.ic)], r.lr_label[0].upper())
                      for _, r in lr.iterrows()]
    t_mg = np.array([t for t, _ in found])
    ours = [(s["t_ic"], s["stance_side"]) for s in doc["steps"]]
    matched = side_agrees = 0
    for t, side in ours:
        j = int(np.argmin(np.abs(t_mg - t)))
        if abs(t_mg[j] - t) < 0.25:
            matched += 1
            side_agrees += found[j][1] == side
    # measured: 50 of 68 ICs within 0.25 s (the tolerance of every event match here), 52
    # before our ICs were timed at the heel-strike transient (step 2(h); within 0.15 s: 46,
    # 50 before; Ionescu's ICs are a median 50 ms before ours), 31 of them on the same side
    # (mobgap's McCamley vs our detector; a mirrored y or z axis would make the sides
    # disagree mostly)
    assert matched >= 0.7 * len(ours)
    assert side_agrees > 0.55 * matched


def test_sto_has_the_opensense_header_and_the_orientation(data, tmp_path):
    out = tmp_path / "pelvis.sto"
    n = exports.write_opensense_sto(data, out)
    text = out.read_text()
    assert text.startswith("DataRate=100.000000\nDataType=Quaternion\nversion=3\n")
    assert "\nendheader\ntime\tpelvis_imu\n" in text
    header, cols, t, q = exports.read_opensense_sto(out)
    assert header["DataType"] == "Quaternion" and cols == ["time", "pelvis_imu"]
    rec = data.recording
    assert len(t) == n == len(rec.t_s) and t[0] == 0.0
    np.testing.assert_allclose(t, rec.t_s - rec.t_s[0], atol=1e-6)  # the capture's clock
    assert np.median(np.diff(t)) == pytest.approx(1 / rec.rate_hz, abs=1e-4)
    # the quaternion turns the sensor's measured gravity to earth z (up) when still
    k = int(np.argmin(np.linalg.norm(rec.gyr_radps, axis=1)))
    up = quat_rotate(q[k], rec.acc_mps2[k])
    assert up[2] / np.linalg.norm(up) > math.cos(math.radians(5))


def test_the_cli_writes_all_four(tmp_path, capsys):
    cap = Path(__file__).resolve().parents[1] / "examples" / "mobgap_ha001_straight_walk.sacrum"
    outs = {k: tmp_path / f"x.{k}" for k in ("samples", "steps", "mobgap", "sto")}
    args = ["export-tables", str(cap)] + [a for k, p in outs.items() for a in (f"--{k}", str(p))]
    assert main(args) == 0
    assert all(p.stat().st_size > 100 for p in outs.values())
    assert main(["export-tables", str(tmp_path / "x.samples")]) == 1  # nothing asked for
    assert "at least one of" in capsys.readouterr().err

"""Does the mounting estimate's stated uncertainty mean what it says? (issue 12)

1. Phantoms (tests/test_mounting.py's walking phantom: known mounting turned 35° about the
   vertical, sensor noise, amplitudes wandering, true orientation): for 15, 30 and 60 s of
   walking and 12 seeds, the share of recordings whose true forward error is within the
   stated ±2 ``forward_deg_sd`` (95 % nominal), the mean stated SD and its random part
   (``forward_se_deg``), and the mean confidence; with a symmetric gait and with 10 %
   left-right asymmetry (a bias the random part does not contain; the cues' disagreement,
   ``cue_spread_deg``, puts it in ``forward_deg_sd``).
2. The package's Trendelenburg-type phantom (``sacrum.testing.walking_phantom``: drop 4°
   on left stance, 9° on right), four seeds: the forward error against the stated SD.
3. Real walk tests in ../shared/data (IPOL's six people, 34 trials; mobgap HA/001, 3):
   the mounting was not moved within a person's session, so each trial's forward azimuth
   is compared with the median of the same person's other trials (which has its own
   error: the shares are a little pessimistic), in units of the stated ``forward_deg_sd``
   and of the random part alone.
   2 and 3 also without the tilt-rate cue (``forward_cues=("acc", "sway")``).
4. The mobgap HA/001 walks (documented mounting: x up, y right, z forward): the forward
   direction's difference from the documented one, in the estimated horizontal plane.

    .venv/bin/python bench/mounting_uncertainty.py
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from sacrum.signal.angles import quat_from_angles  # noqa: E402
from sacrum.signal.mounting import MountingError, estimate_mounting, parse_mount  # noqa: E402
from sacrum.signal.orientation import orientation_offline  # noqa: E402
from sacrum.signal.quaternion import quat_multiply, quat_to_matrix  # noqa: E402
from test_mounting import (  # noqa: E402
    RATE_HZ,
    YAWED_35,
    rotation_between_deg,
    walking_phantom,
)

DATA = ROOT.parent / "shared" / "data"


def phantoms() -> None:
    print("| walking | gait | within ±2 SD | mean SD (deg) | mean SE (deg) | RMS error / SD "
          "| confidence |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for walk_s in (15.0, 30.0, 60.0):
        for asym in (0.0, 0.1):
            z, sd, se, conf = [], [], [], []
            for seed in range(12):
                q, acc, gyr = walking_phantom(YAWED_35, walk_s=walk_s, asymmetry=asym,
                                              fusion="true", seed=seed)
                est = estimate_mounting(q, acc, gyr, RATE_HZ)
                err = rotation_between_deg(est.q_sensor_to_body, YAWED_35)[2]
                z.append(err / est.forward_deg_sd)
                sd.append(est.forward_deg_sd)
                se.append(est.forward_se_deg)
                conf.append(est.confidence)
            z = np.array(z)
            gait = "symmetric" if asym == 0 else f"{100 * asym:.0f} % asymmetric"
            print(f"| {walk_s:.0f} s | {gait} | {100 * np.mean(np.abs(z) <= 2):.0f} % "
                  f"| {np.mean(sd):.2f} | {np.mean(se):.2f} | {np.sqrt(np.mean(z ** 2)):.2f} "
                  f"| {np.mean(conf):.2f} |")


def trendelenburg(**params) -> None:
    from sacrum.testing.walking_phantom import walking_phantom as patient

    mount = parse_mount("recommended")
    print(f"\n{params or 'default cues'}\n")
    print("| Trendelenburg phantom seed | forward error (deg) | SD (deg) | SE alone (deg) "
          "| cue spread (deg) | confidence | settled |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for seed in range(4):
        ph = patient(n_steps=60, mount=mount, seed=seed)
        a = ph["angles"]
        q = quat_multiply(quat_from_angles(a[:, 0], a[:, 1], a[:, 2] + ph["heading_rad"]),
                          mount)
        est = estimate_mounting(q, ph["acc"], ph["gyr"], RATE_HZ, **params)
        err = rotation_between_deg(est.q_sensor_to_body, mount)[2]
        print(f"| {seed} | {err:+.1f} | {est.forward_deg_sd:.1f} | {est.forward_se_deg:.1f} "
              f"| {est.cue_spread_deg:.1f} | {est.confidence:.2f} "
              f"| {est.settled_confidence:.2f} |")


def _azimuth_deg(est, nominal_fwd: np.ndarray) -> float:
    r = quat_to_matrix(est.q_sensor_to_body)  # rows: body axes in the sensor frame
    z = r[2]
    f = nominal_fwd - (nominal_fwd @ z) * z
    f /= np.linalg.norm(f)
    return math.degrees(math.atan2(r[0] @ np.cross(z, f), r[0] @ f))


def real_walks(**params) -> None:
    from gait_subjects import load_all

    documented = quat_to_matrix(parse_mount("mobilise-d-examples"))[0]
    by: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    refused = 0
    for tr in load_all(DATA):
        q = orientation_offline(tr["acc"], tr["gyr"], tr["fs"])
        try:
            est = estimate_mounting(q, tr["acc"], tr["gyr"], tr["fs"], **params)
        except MountingError:
            refused += 1
            continue
        nominal = documented if tr["subject"] == "HA001" else np.array([0.0, 0.0, -1.0])
        by[tr["subject"]].append((_azimuth_deg(est, nominal), est.forward_deg_sd,
                                  est.forward_se_deg, est.confidence))
    print(f"\n{params or 'default cues'}\n")
    print("| person | trials | azimuth spread (deg) | median SD (deg) | median SE (deg) "
          "| confidence (min–max) |")
    print("| --- | --- | --- | --- | --- | --- |")
    z_sd, z_se = [], []
    for subject, rows in by.items():
        v = np.array(rows)
        for i in range(len(v)):
            others = np.median(np.delete(v[:, 0], i))
            z_sd.append(abs(v[i, 0] - others) / v[i, 1])
            z_se.append(abs(v[i, 0] - others) / v[i, 2])
        print(f"| {subject} | {len(v)} | {np.std(v[:, 0]):.1f} | {np.median(v[:, 1]):.1f} "
              f"| {np.median(v[:, 2]):.1f} | {v[:, 3].min():.2f}–{v[:, 3].max():.2f} |")
    z_sd, z_se = np.array(z_sd), np.array(z_se)
    print(f"\n{len(z_sd)} trials ({refused} refused): within ±2 / ±1 of the person's other "
          f"trials' median: forward_deg_sd {100 * np.mean(z_sd <= 2):.0f} % / "
          f"{100 * np.mean(z_sd <= 1):.0f} %, the standard error alone "
          f"{100 * np.mean(z_se <= 2):.0f} % / {100 * np.mean(z_se <= 1):.0f} % "
          "(nominal 95 % / 68 %)")


def mobgap() -> None:
    import scipy.io

    path = DATA / "mobgap" / "HA" / "001" / "data.mat"
    data = scipy.io.loadmat(path, simplify_cells=True)["data"]["TimeMeasure1"]
    documented = quat_to_matrix(parse_mount("mobilise-d-examples"))[0]
    print("\n| walk | forward vs documented (deg) | stated SD (deg) | SE alone (deg) "
          "| cue spread (deg) | confidence | walking (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for test in ("Test5", "Test11"):
        for trial, v in data[test].items():
            lb = v["SU"]["LowerBack"]
            acc = np.asarray(lb["Acc"], float) * 9.80665  # g -> m/s²
            gyr = np.radians(np.asarray(lb["Gyr"], float))  # deg/s -> rad/s
            q = orientation_offline(acc, gyr, 100.0)
            est = estimate_mounting(q, acc, gyr, 100.0)
            print(f"| {test} {trial} | {_azimuth_deg(est, documented):+.2f} "
                  f"| {est.forward_deg_sd:.2f} | {est.forward_se_deg:.2f} "
                  f"| {est.cue_spread_deg:.1f} | {est.confidence:.2f} | {est.walking_s:.0f} |")


if __name__ == "__main__":
    phantoms()
    for cues in ({}, {"forward_cues": ("acc", "sway")}):
        trendelenburg(**cues)
        real_walks(**cues)
    mobgap()

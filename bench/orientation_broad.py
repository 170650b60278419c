"""Accuracy and speed of sacrum.signal.orientation on BROAD, against VQF, x-io Fusion, Madgwick,
Mahony.

Every BROAD trial in the data folder is run through, all 6D (gyr + acc, no
magnetometer), on the same samples (float32, as fusion_broad.py loads them,
then float64):

- ours, real time: ``sacrum.signal.orientation.OrientationFilter`` fed the trial in
  chunks of 11 samples (one BLE notification each), the live path;
- ours, offline: ``sacrum.signal.orientation.orientation_offline``;
- VQF real time (``vqf.VQF(Ts).updateBatch``, ``quat6D``) and VQF offline
  (``vqf.offlineVQF``, ``quat6D``), default parameters (Laidig & Seel 2023);
- x-io Fusion (``imufusion.Ahrs``, default settings, sample period set to
  the trial's, ``update_no_magnetometer`` with gyr in °/s and acc in g),
  alone and behind its gyroscope-offset corrector (``imufusion.Bias``,
  default settings), the way x-io's examples use it;
- Madgwick and Mahony of the ``ahrs`` package (``ahrs.filters.Madgwick`` /
  ``Mahony``, default gains, ``frequency`` set to the trial's).

All of them output q_sensor_to_earth with earth z up (checked: the
conjugate gives errors near 90°).

Error (../shared/data/README.md; Laidig et al. 2021), computed by
fusion_broad.errors_deg: the rotation between estimate and reference in the
earth frame, split into inclination and heading, RMSE in degrees over the
samples where ``movement`` is set and the reference is valid, after removing
the one constant heading offset that zeroes the mean heading error.

Speed: µs per sample of ours for a whole recording (one update() call, and
orientation_offline) and per live update of 11 samples, on one hour at 200 Hz
(720,000 samples: the BROAD trials' samples repeated), best of three runs,
after the compiled kernels were loaded.

Run: .venv/bin/python bench/orientation_broad.py [--data ../shared/data/broad]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import ahrs
import imufusion
import numpy as np
from vqf import VQF, offlineVQF

from fusion_broad import errors_deg, load_trial
from sacrum.signal.orientation import OrientationFilter, orientation_offline

ROOT = Path(__file__).resolve().parents[1]
LIVE_CHUNK = 11  # samples per BLE notification (protocol/SPEC.md 2.1)
G_MPS2 = 9.80665  # x-io Fusion takes acc in g


def chunked(filt: OrientationFilter, acc: np.ndarray, gyr: np.ndarray, size: int) -> np.ndarray:
    return np.concatenate([filt.update(acc[i:i + size], gyr[i:i + size])
                           for i in range(0, len(acc), size)])


def run_ours_rt(acc, gyr, rate_hz):
    return chunked(OrientationFilter(rate_hz), acc, gyr, LIVE_CHUNK)


def run_ours_offline(acc, gyr, rate_hz):
    return orientation_offline(acc, gyr, rate_hz)


def run_vqf_rt(acc, gyr, rate_hz):
    return VQF(1.0 / rate_hz).updateBatch(gyr, acc)["quat6D"]


def run_vqf_offline(acc, gyr, rate_hz):
    return offlineVQF(gyr, acc, None, 1.0 / rate_hz)["quat6D"]


def _imufusion(acc, gyr, rate_hz, with_bias):
    filt = imufusion.Ahrs()
    filt.set_sample_period(1.0 / rate_hz)
    offset = imufusion.Bias()
    offset.set_settings(imufusion.BiasSettings(sample_rate=rate_hz))
    gyr_dps, acc_g = np.degrees(gyr), acc / G_MPS2
    q = np.empty((len(acc), 4))
    for i in range(len(acc)):
        g = offset.update(gyr_dps[i]) if with_bias else gyr_dps[i]
        filt.update_no_magnetometer(g, acc_g[i])
        q[i] = filt.get_quaternion()
    return q


def run_imufusion(acc, gyr, rate_hz):
    return _imufusion(acc, gyr, rate_hz, with_bias=False)


def run_imufusion_bias(acc, gyr, rate_hz):
    return _imufusion(acc, gyr, rate_hz, with_bias=True)


def run_madgwick(acc, gyr, rate_hz):
    return ahrs.filters.Madgwick(gyr=gyr, acc=acc, frequency=rate_hz).Q


def run_mahony(acc, gyr, rate_hz):
    return ahrs.filters.Mahony(gyr=gyr, acc=acc, frequency=rate_hz).Q


METHODS = {  # label: runner
    "ours RT": run_ours_rt,
    "VQF RT": run_vqf_rt,
    "ours offline": run_ours_offline,
    "VQF offline": run_vqf_offline,
    "Fusion": run_imufusion,
    "Fusion+Bias": run_imufusion_bias,
    "Madgwick": run_madgwick,
    "Mahony": run_mahony,
}


def accuracy(paths: list[Path]) -> None:
    names = list(METHODS)
    print("| trial | ours RT incl / head / total | ours offline incl / head / total | "
          + " | ".join(f"{m} total" for m in names)
          + " | ours RT / VQF RT | ours offline / VQF offline |")
    print("| --- " * (5 + len(names)) + "|")
    totals = {m: [] for m in names}
    for path in paths:
        trial = load_trial(path)
        acc = np.ascontiguousarray(trial["acc_mps2"], dtype=np.float64)
        gyr = np.ascontiguousarray(trial["gyr_radps"], dtype=np.float64)
        err = {m: errors_deg(run(acc, gyr, trial["rate_hz"]), trial["q_ref"], trial["movement"])
               for m, run in METHODS.items()}
        for m in names:
            totals[m].append(err[m][2])
        rt, off = err["ours RT"], err["ours offline"]
        print(f"| {trial['name']} | {rt[0]:.2f} / {rt[1]:.2f} / {rt[2]:.2f} "
              f"| {off[0]:.2f} / {off[1]:.2f} / {off[2]:.2f} | "
              + " | ".join(f"{err[m][2]:.2f}" for m in names)
              + f" | {rt[2] / err['VQF RT'][2]:.3f} | {off[2] / err['VQF offline'][2]:.3f} |",
              flush=True)
    mean = {m: float(np.mean(v)) for m, v in totals.items()}
    print()
    print("mean total RMSE: " + ", ".join(f"{m} {v:.3f}°" for m, v in mean.items()))
    for ours, ref in (("ours RT", "VQF RT"), ("ours offline", "VQF offline"),
                      ("ours offline", "ours RT")):
        ratios = np.array(totals[ours]) / np.array(totals[ref])
        print(f"{ours} / {ref}: ratio of the means {mean[ours] / mean[ref]:.3f}, "
              f"mean of the per-trial ratios {ratios.mean():.3f}, "
              f"trials where {ours} is lower: {int(np.sum(ratios < 1.0))} of {len(ratios)}")


def best_of(n: int, fn) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def speed(paths: list[Path]) -> None:
    rate_hz, n = 200.0, 200 * 3600
    trials = [load_trial(p) for p in paths]
    acc = np.concatenate([t["acc_mps2"] for t in trials]).astype(np.float64)
    gyr = np.concatenate([t["gyr_radps"] for t in trials]).astype(np.float64)
    reps = -(-n // len(acc))
    acc, gyr = np.tile(acc, (reps, 1))[:n], np.tile(gyr, (reps, 1))[:n]
    orientation_offline(acc[:100], gyr[:100], rate_hz)  # load the compiled kernels

    whole = best_of(3, lambda: OrientationFilter(rate_hz).update(acc, gyr))
    offline = best_of(3, lambda: orientation_offline(acc, gyr, rate_hz))
    filt = OrientationFilter(rate_hz)
    a_chunks = [acc[i:i + LIVE_CHUNK] for i in range(0, n, LIVE_CHUNK)]
    g_chunks = [gyr[i:i + LIVE_CHUNK] for i in range(0, n, LIVE_CHUNK)]
    per_chunk = np.empty(len(a_chunks))
    for i, (a, g) in enumerate(zip(a_chunks, g_chunks, strict=True)):
        t0 = time.perf_counter()
        filt.update(a, g)
        per_chunk[i] = time.perf_counter() - t0
    vqf_rt = best_of(3, lambda: VQF(1.0 / rate_hz).updateBatch(gyr, acc))
    vqf_off = best_of(3, lambda: offlineVQF(gyr, acc, None, 1.0 / rate_hz))
    print()
    print(f"one hour at 200 Hz ({n:,} samples), this machine:")
    print("| path | s per hour | µs per sample | × real time |")
    print("| --- | --- | --- | --- |")
    for label, sec in (("ours RT, one update() call", whole),
                       ("ours RT, live: update() per 11 samples", float(per_chunk.sum())),
                       ("ours offline", offline),
                       ("VQF RT (C++ updateBatch)", vqf_rt),
                       ("VQF offline (C++)", vqf_off)):
        print(f"| {label} | {sec:.3f} | {sec / n * 1e6:.3f} | {3600 / sec:,.0f} |")
    print(f"live update() of 11 samples: median {np.median(per_chunk) * 1e6:.1f} µs, "
          f"99th percentile {np.percentile(per_chunk, 99) * 1e6:.1f} µs, "
          f"max {per_chunk.max() * 1e6:.0f} µs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/broad",
                    help="folder of BROAD NN_*.mat trials")
    args = ap.parse_args()
    paths = sorted(args.data.glob("[0-9][0-9]_*.mat"))
    if not paths:
        sys.exit(f"no BROAD trials (NN_*.mat) in {args.data}")
    accuracy(paths)
    speed(paths)


if __name__ == "__main__":
    main()

"""Speed of the whole host pipeline: orientation → mounting → angles → gait events.

One hour at 200 Hz (synthetic sacral walking, sacrum.testing.generator.synthetic_walk)
through ``analyze_recording`` (offline: smoothed orientation, mounting
estimated, then the streaming stages fed everything) and through
``Pipeline.update`` one BLE notification (11 samples) at a time, as the live
view runs it. Peak memory by tracemalloc (numpy reports its buffers to it)
in a second, separately timed run.

The peer, on the same hour in the same run: mobgap's own full pipeline,
``MobilisedPipelineHealthy`` (Mobilise-D P1: gait sequences, initial contacts, laterality,
cadence, stride length, walking speed; Kirk et al. 2024, doi:10.1038/s41598-024-51766-5),
given the same samples in its sensor frame (x up, y left, z forward; gyro in deg/s). The
two do different work (ours: orientation, mounting, pelvic angles and gait events; theirs:
no orientation, but stride length and speed), so the ratio says what one hour costs a
user of each, not which algorithm is faster.

Goal (issue 4): >= 1000x real time offline; well under 1 ms per notification live.
Run: .venv/bin/python bench/pipeline_speed.py [--minutes 60] [--no-peer]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from sacrum.signal.mounting import parse_mount
from sacrum.signal.pipeline import Pipeline, analyze_recording
from sacrum.testing.generator import synthetic_walk

RATE = 200


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--live-minutes", type=float, default=5.0,
                    help="length of the live (per notification) run")
    ap.add_argument("--no-peer", action="store_true", help="skip mobgap's pipeline")
    args = ap.parse_args()
    _, acc, gyr = synthetic_walk(args.minutes * 60, RATE, seed=1)
    t = np.arange(len(acc)) / RATE
    mount = parse_mount("z=up,x=forward")  # synthetic_walk's sensor frame is the body's
    # warm up the JIT caches so compile time is not measured
    analyze_recording(t[:4000], acc[:4000], gyr[:4000], RATE, q_sensor_to_body=mount)

    t0 = time.perf_counter()
    res = analyze_recording(t, acc, gyr, RATE)
    offline_s = time.perf_counter() - t0
    tracemalloc.start()  # a second run for memory: tracing slows numpy's allocations
    analyze_recording(t, acc, gyr, RATE)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    duration_s = len(t) / RATE
    print(f"offline, {args.minutes:g} min at {RATE} Hz ({len(t):,} samples): {offline_s:.2f} s "
          f"= {duration_s / offline_s:,.0f}x real time; peak memory {peak / 1e6:.0f} MB; "
          f"{sum(e.kind == 'IC' for e in res.events):,} ICs; mounting confidence "
          f"{res.mounting.confidence:.2f}")

    if not args.no_peer:
        peer_s, n_strides = run_mobgap(acc, gyr)
        print(f"mobgap MobilisedPipelineHealthy, same {args.minutes:g} min: {peer_s:.2f} s "
              f"= {duration_s / peer_s:,.0f}x real time; {n_strides:,} strides; "
              f"ours/mobgap time ratio {offline_s / peer_s:.2f} "
              f"(ours {peer_s / offline_s:.1f}x as fast)")

    n_live = int(args.live_minutes * 60 * RATE)
    pipe = Pipeline(RATE, mount)
    costs = []
    for i in range(0, n_live - 11, 11):
        s = slice(i, i + 11)
        c0 = time.perf_counter()
        pipe.update(t[s], acc[s], gyr[s])
        costs.append(time.perf_counter() - c0)
    c = np.array(costs) * 1e6
    print(f"live, one notification (11 samples) at a time over {args.live_minutes:g} min: "
          f"median {np.median(c):.0f} µs, 99th percentile {np.percentile(c, 99):.0f} µs, "
          f"max {c.max():.0f} µs; {c.sum() / 1e6 / (n_live / RATE) * 100:.1f} % of one core")


def run_mobgap(acc_mps2: np.ndarray, gyr_radps: np.ndarray) -> tuple[float, int]:
    """Seconds mobgap's P1 pipeline takes on the samples (body frame x fwd, y left, z up),
    and the strides it found."""
    import warnings

    import pandas as pd
    from mobgap.data import GaitDatasetFromData
    from mobgap.pipeline import MobilisedPipelineHealthy

    warnings.filterwarnings("ignore")  # sklearn's pickle-version notices from mobgap's models
    gyr_dps = np.degrees(gyr_radps)
    df = pd.DataFrame({"acc_x": acc_mps2[:, 2], "acc_y": acc_mps2[:, 1], "acc_z": acc_mps2[:, 0],
                       "gyr_x": gyr_dps[:, 2], "gyr_y": gyr_dps[:, 1], "gyr_z": gyr_dps[:, 0]})
    ds = GaitDatasetFromData({"hour": {"LowerBack": df}}, RATE,
                             {"hour": {"height_m": 1.75, "cohort": "HA",
                                       "sensor_height_m": 0.95}},
                             {"hour": {"measurement_condition": "free_living"}})
    MobilisedPipelineHealthy().run(ds[0])  # warm-up: its model loading is not measured
    t0 = time.perf_counter()
    p = MobilisedPipelineHealthy().run(ds[0])
    strides = p.per_stride_parameters_
    return time.perf_counter() - t0, 0 if strides is None else len(strides)


if __name__ == "__main__":
    main()

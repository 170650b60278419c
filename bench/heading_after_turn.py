"""Pelvic rotation error right after a turn, offline and live, before and after issue 12.

A walking phantom (sacrum.phantom, 60 steps, known rotation ±4° about a known walking
direction) turns by ``--turn`` degrees over 2 s from step 24; five seeds. For each, the
rotation error (analysis minus truth, deg) over the stride before the gait stage's turn
starts and the stride after it ends, and over all samples the pipeline calls settled:

* offline: ``analyze_recording`` (one centred stride, slid clear of turns) against the
  same heading without the turns (the window straddling the turn, as before);
* live: ``Pipeline`` fed 11 samples at a time, with the half window while turning
  against ``heading_settle_rad=inf`` (never turning: the plain trailing stride).

    .venv/bin/python bench/heading_after_turn.py [--turn 180]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from sacrum.angles import ROTATION, PelvicAngles
from sacrum.mounting import parse_mount
from sacrum.phantom import walking_phantom
from sacrum.pipeline import Pipeline, analyze_recording, stride_heading

RATE = 100.0
MOUNT = parse_mount("recommended")


def _live(ph, **params):
    pipe = Pipeline(RATE, MOUNT, **params)
    outs = [pipe.update(ph["t"][i:i + 11], ph["acc"][i:i + 11], ph["gyr"][i:i + 11])
            for i in range(0, len(ph["t"]), 11)]
    return (np.concatenate([o.angles_rad[:, ROTATION] for o in outs]),
            np.concatenate([o.heading_settled for o in outs]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turn", type=float, default=180.0, help="turn angle (deg)")
    args = ap.parse_args()
    rows: dict[str, list[np.ndarray]] = {}
    for seed in range(5):
        ph = walking_phantom(n_steps=60, turns=((24, args.turn, 2.0),), seed=seed)
        t, truth = ph["t"], ph["angles"][:, ROTATION]
        res = analyze_recording(t, ph["acc"], ph["gyr"], RATE, q_sensor_to_body=MOUNT)
        (turn,) = res.gait.turns
        stride = 2 * float(np.mean(ph["t_step"]))
        before = (t >= turn.t_start_s - stride) & (t < turn.t_start_s)
        after = (t > turn.t_end_s) & (t <= turn.t_end_s + stride)
        walk = (t > ph["t_ic"][2]) & (t < ph["t_ic"][-2])
        # offline without the turns (the window straddles them), same orientations
        yaw = PelvicAngles(MOUNT, RATE).decompose(res.q_sensor_to_earth)[:, ROTATION]
        old_off = yaw - stride_heading(yaw, t, res.events, 1.1)
        live_new, live_set = _live(ph)
        live_old, _ = _live(ph, heading_settle_rad=math.inf)
        for name, rot, settled in (("offline, before", old_off, None),
                                   ("offline, now", res.angles_rad[:, ROTATION],
                                    res.heading_settled),
                                   ("live, before", live_old, None),
                                   ("live, now", live_new, live_set)):
            err = np.degrees(np.angle(np.exp(1j * (rot - truth))))
            rows.setdefault(name, []).append(np.array([
                np.sqrt(np.nanmean(err[before] ** 2)), np.nanmax(np.abs(err[before])),
                np.sqrt(np.nanmean(err[after] ** 2)), np.nanmax(np.abs(err[after])),
                np.nan if settled is None else np.sqrt(np.nanmean(err[settled & walk] ** 2)),
                np.nan if settled is None else np.nanmax(np.abs(err[settled & walk])),
                np.nan if settled is None else 100 * (1 - settled[walk].mean())]))
    print(f"{args.turn:g}° turn over 2 s, 5 seeds (mean): rotation error, deg")
    print("| heading | stride before turn RMS / max | stride after turn RMS / max "
          "| settled walking samples RMS / max | walking flagged unsettled % |")
    print("| --- | --- | --- | --- | --- |")
    for name, vals in rows.items():
        m = np.mean(vals, axis=0)
        settled = "–" if math.isnan(m[4]) else f"{m[4]:.2f} / {m[5]:.2f}"
        flagged = "–" if math.isnan(m[6]) else f"{m[6]:.1f}"
        print(f"| {name} | {m[0]:.2f} / {m[1]:.2f} | {m[2]:.2f} / {m[3]:.2f} | {settled} "
              f"| {flagged} |")


if __name__ == "__main__":
    main()

"""Pelvic rotation error right after a turn, offline and live, before and after issue 12.

A walking phantom (sacrum.testing.walking_phantom, 60 steps, known rotation ±4° about a known
walking
direction) turns by ``--turn`` degrees over 2 s from step 24; five seeds. For each, the
rotation error (analysis minus truth, deg) over the stride before the gait stage's turn
starts and the stride after it ends, and over all samples the pipeline calls settled:

* offline: ``analyze_recording`` (one centred stride, slid clear of turns) against the
  same heading without the turns (the window straddling the turn, as before);
* live: ``Pipeline`` fed 11 samples at a time, with the half window while turning
  against ``heading_settle_rad=inf`` (never turning: the plain trailing stride).

``--ipol``: the same on the real U-turn walks of ../shared/data/ipol (Voisard et al. 2023,
AGPL-3.0: read there, nothing copied), which have no rotation truth. Over a stride of
straight walking the pelvis rotates about the walking direction, so the mean rotation over
the stride after the dataset's U-turn end measures the heading's error there (against the
same over the straight strides); and the flag: the share of the U-turn's samples flagged
unsettled, and of the straight walking (1 s clear of the U-turn) flagged settled.

    .venv/bin/python bench/heading_after_turn.py [--turn 180] [--ipol]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from sacrum.signal.angles import ROTATION, PelvicAngles
from sacrum.signal.mounting import parse_mount
from sacrum.signal.pipeline import Pipeline, analyze_recording, stride_heading
from sacrum.testing.walking_phantom import walking_phantom

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
    ap.add_argument("--ipol", action="store_true", help="the real U-turn walks instead")
    args = ap.parse_args()
    if args.ipol:
        ipol()
        return
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


def _live_real(fs, q_sensor_to_body, t, acc, gyr, q, **params):
    pipe = Pipeline(fs, q_sensor_to_body, **params)
    outs = [pipe.update(t[i:i + 11], acc[i:i + 11], gyr[i:i + 11], q[i:i + 11])
            for i in range(0, len(t), 11)]
    return (np.concatenate([o.angles_rad[:, ROTATION] for o in outs]),
            np.concatenate([o.heading_settled for o in outs]))


def _stride_means(rot, t, ic, turn, stride):
    """|mean rotation| (deg) over the stride after the U-turn, and the median of it over
    the straight strides (from every other IC, 1 s clear of the U-turn)."""
    u0, u1 = turn
    r = np.degrees(np.angle(np.exp(1j * rot)))
    ics = ic[(ic < u0 - 1.0 - stride) | (ic > u1 + 1.0)]
    base = [abs(np.nanmean(r[(t >= a) & (t < a + stride)])) for a in ics[::2]]
    return abs(float(np.nanmean(r[(t > u1) & (t <= u1 + stride)]))), float(np.nanmedian(base))


def ipol() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gait_subjects import load_ipol

    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "ipol"
    names = sorted(p.name[:-len("_lb.txt")] for p in root.glob("*_lb.txt"))
    rows: dict[str, list[float]] = {}
    for name in names:
        tr = load_ipol(root, name)
        fs = tr["fs"]
        t = np.arange(len(tr["acc"])) / fs
        try:
            res = analyze_recording(t, tr["acc"], tr["gyr"], fs)
        except ValueError:
            continue
        ref = tr["ref"][0]
        (u0, u1), = ref["turns"]
        stride = float(np.median(np.diff(ref["ic"]))) * 2
        straight = (t >= ref["start"]) & (t <= ref["end"]) & ((t < u0 - 1.0) | (t > u1 + 1.0))
        turn = (t >= u0) & (t <= u1)
        yaw = PelvicAngles(res.q_sensor_to_body, fs).decompose(res.q_sensor_to_earth)
        old_off = yaw[:, ROTATION] - stride_heading(yaw[:, ROTATION], t, res.events, 1.1)

        feed = (t, tr["acc"], tr["gyr"], res.q_sensor_to_earth)
        live_new, live_set = _live_real(fs, res.q_sensor_to_body, *feed)
        live_old, _ = _live_real(fs, res.q_sensor_to_body, *feed, heading_settle_rad=math.inf)
        for key, rot in (("offline, before", old_off),
                         ("offline, now", res.angles_rad[:, ROTATION]),
                         ("live, before", live_old), ("live, now", live_new)):
            a, b = _stride_means(rot, t, ref["ic"], (u0, u1), stride)
            rows.setdefault(key + " after", []).append(a)
            rows.setdefault(key + " straight", []).append(b)
        for key, flag in (("offline", res.heading_settled), ("live", live_set)):
            rows.setdefault(key + " turn flagged", []).append(100 * (1 - flag[turn].mean()))
            rows.setdefault(key + " straight settled", []).append(100 * flag[straight].mean())
    n = len(rows["offline, now after"])
    print(f"ipol U-turn walks ({n} trials): |mean rotation| over a stride, deg, median "
          "(90th percentile)")
    print("| heading | stride after the U-turn | straight strides |")
    print("| --- | --- | --- |")
    for key in ("offline, before", "offline, now", "live, before", "live, now"):
        a, b = np.array(rows[key + " after"]), np.array(rows[key + " straight"])
        print(f"| {key} | {np.median(a):.2f} ({np.percentile(a, 90):.2f}) "
              f"| {np.median(b):.2f} ({np.percentile(b, 90):.2f}) |")
    for key in ("offline", "live"):
        flagged = np.mean(rows[key + " turn flagged"])
        settled = np.mean(rows[key + " straight settled"])
        print(f"{key}: U-turn samples flagged unsettled {flagged:.0f} %, straight walking "
              f"settled {settled:.0f} %")


if __name__ == "__main__":
    main()

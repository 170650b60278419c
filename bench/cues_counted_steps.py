"""Live cues against the steps the scorer counts (issue 12, item 3).

``LiveScorer`` fed 11 samples at a time (a BLE notification) with a cue threshold of 1°
(so that nearly every step would cue: this measures the gate, not the threshold); at the
end, each step's final exclusion (turns found later included). For the rule before issue
12 (``calibrated and drop > threshold``) and the one now (``LiveScorer.cue_allowed``): the
cues on steps the scorer finally excluded, and the cues on counted steps.

On the phantom walk with a 180° turn (sacrum.testing.walking_phantom, standing first) and on the 34
real
U-turn walks of ../shared/data/ipol (Voisard et al. 2023, AGPL-3.0: read there).

    .venv/bin/python bench/cues_counted_steps.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from sacrum.scoring.livescore import LiveScorer
from sacrum.signal.mounting import parse_mount
from sacrum.signal.pipeline import analyze_recording
from sacrum.testing.walking_phantom import walking_phantom

THRESHOLD_DEG = 1.0


def run(t, acc, gyr, rate_hz, q_sensor_to_body, q=None) -> dict[str, int]:
    sc = LiveScorer(rate_hz, q_sensor_to_body, threshold_deg=THRESHOLD_DEG)
    old, new = {}, {}

    def take(u):
        for s, cue in zip(u.steps, u.cues, strict=True):
            old[s.t_ic_s] = (sc.pipeline.calibration is not None
                             and s.contralateral_drop_deg > THRESHOLD_DEG)
            new[s.t_ic_s] = cue

    for i in range(0, len(t), 11):
        take(sc.update(t[i:i + 11], acc[i:i + 11], gyr[i:i + 11],
                       None if q is None else q[i:i + 11]))
    take(sc.flush())
    final = {s.t_ic_s: s.excluded for s in sc.steps}
    out = {"steps": len(final), "excluded": sum(v is not None for v in final.values())}
    for name, cues in (("before", old), ("now", new)):
        out[f"{name} on excluded"] = sum(c and final.get(k) is not None for k, c in cues.items())
        out[f"{name} on counted"] = sum(c and final.get(k) is None for k, c in cues.items())
    return out


def main() -> None:
    rows = {}
    ph = walking_phantom(n_steps=60, turns=((24, 180.0, 2.0),), seed=0)
    rows["phantom, 180° turn"] = run(ph["t"], ph["acc"], ph["gyr"], 100.0,
                                     parse_mount("recommended"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gait_subjects import load_ipol

    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "ipol"
    total: dict[str, int] = {}
    names = sorted(p.name[:-len("_lb.txt")] for p in root.glob("*_lb.txt"))
    for name in names:
        tr = load_ipol(root, name)
        t = np.arange(len(tr["acc"])) / tr["fs"]
        try:
            res = analyze_recording(t, tr["acc"], tr["gyr"], tr["fs"])
        except ValueError:
            continue
        r = run(t, tr["acc"], tr["gyr"], tr["fs"], res.q_sensor_to_body)
        for k, v in r.items():
            total[k] = total.get(k, 0) + v
    rows[f"ipol, {len(names)} U-turn walks"] = total
    print(f"cue threshold {THRESHOLD_DEG:g}°; cues on steps the scorer finally excluded / on "
          "counted steps")
    print("| recording | steps | excluded | before: on excluded | before: on counted "
          "| now: on excluded | now: on counted |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        print(f"| {name} | {r['steps']} | {r['excluded']} | {r['before on excluded']} "
              f"| {r['before on counted']} | {r['now on excluded']} | {r['now on counted']} |")


if __name__ == "__main__":
    main()

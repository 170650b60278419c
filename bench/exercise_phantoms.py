"""The exercise phantoms, every task in every mounting the guide allows (issue 16 item 7).

For each exercise task of ``sacrum.scoring.exercises`` and each of the four mountings of
``sacrum.testing.exercise_phantom.MOUNTS``: the phantom (two sets or two holds with known
repetitions, deviations, pauses, partials, a re-positioning, noise and gyroscope bias)
through the segmenter from the true orientation, through the host's offline fusion (what
``sacrum analyze`` uses) and, with ``--firmware``, through the firmware in the loop (the
real firmware under MicroPython streams the phantom's IMU signals into a capture whose
samples go through the offline fusion: about 6 s per task and mounting).

    .venv/bin/python bench/exercise_phantoms.py [--firmware] [--live] [--seed N] [TASK ...]

``--live`` adds the host's real-time filter (forward only, as a live session without the
device's quaternion fuses): the live reading of the same phantoms.

Prints one row per task, mounting and path: counts exact (repetitions, partials, sides and
sets all equal to the truth; holds: their number), the largest excursion error (deg, over
repetitions or holds and the three angles: ``ext°`` of each angle's two extremes, the
excursions issue 16 item 7 asks within 0.5°; ``sgn°`` of the signed excursion, the larger of
the two, and ``flip``, how often it took the other extreme than the truth's: where the
pelvis moved about as far each way a tenth of a degree decides which, docs/exercises.md),
the own metrics' largest error (deg), the
largest error of the relative angles themselves, sample by sample over each repetition or
hold (deg: an excursion is the signed extreme, and when an angle's largest positive and
negative deviations are nearly equal a tenth of a degree flips which one it is), hold
time error (s), control-lost time error (s), tempo error (s); then, per path, the worst
over all tasks and mountings against issue 16's targets (excursions within 0.5°, hold
time within 0.2 s, repetitions exact).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from sacrum.testing.exercise_phantom import MOUNTS, phantom_figures

TARGET_EXCURSION_DEG = 0.5
TARGET_HOLD_S = 0.2


def _fmt(x: float, spec: str) -> str:
    """``x`` formatted by ``spec`` ("7.2f"), or "-" as wide for NaN (nothing to compare)."""
    return format(x, spec) if math.isfinite(x) else "-".rjust(int(spec.split(".")[0] or 0))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tasks", nargs="*", help="exercise tasks (default: all)")
    ap.add_argument("--firmware", action="store_true", help="add the firmware in the loop")
    ap.add_argument("--live", action="store_true",
                    help="add the host's real-time filter (a live session's fusion)")
    ap.add_argument("--seed", type=int, default=0, help="phantom seed (default 0)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = phantom_figures(args.tasks or None, mounts=MOUNTS, firmware=args.firmware,
                           seed=args.seed, live=args.live)
    out = sys.stdout
    out.write(f"{'task':26s} {'mount':22s} {'path':15s} found/truth exact  ext°  sgn° "
              "flip  own° angle°  hold s  lost s  tempo s\n")
    for r in rows:
        out.write(f"{r['task']:26s} {r['mount']:22s} {r['path']:15s} {r['found']:3d}/"
                  f"{r['truth']:<3d}     {'yes' if r['counts_exact'] else 'NO ':3s}  "
                  f"{r['extremes_err_deg']:5.2f} {r['excursion_err_deg']:5.2f} "
                  f"{r['sign_flips']:4d} {r['metric_err_deg']:5.2f} "
                  f"{r['angle_err_deg']:6.2f} {_fmt(r['hold_err_s'], '7.2f')} "
                  f"{_fmt(r['lost_err_s'], '7.2f')} {_fmt(r['tempo_err_s'], '8.2f')}\n")
    out.write("\nworst over all tasks and mountings (targets: counts exact, excursions "
              f"<= {TARGET_EXCURSION_DEG}°, hold time <= {TARGET_HOLD_S} s):\n")
    for path in dict.fromkeys(r["path"] for r in rows):
        mine = [r for r in rows if r["path"] == path]
        exact = sum(r["counts_exact"] for r in mine)
        ext = max(mine, key=lambda r: r["extremes_err_deg"])
        exc = max(mine, key=lambda r: r["excursion_err_deg"])
        holds = [r["hold_err_s"] for r in mine if math.isfinite(r["hold_err_s"])]
        hold = max(holds, default=math.nan)
        met = (exact == len(mine) and ext["extremes_err_deg"] <= TARGET_EXCURSION_DEG
               and not hold > TARGET_HOLD_S)
        out.write(f"  {path:15s} counts exact {exact}/{len(mine)}, excursions (extremes) "
                  f"{ext['extremes_err_deg']:.2f}° ({ext['task']}, {ext['mount']}), signed "
                  f"{exc['excursion_err_deg']:.2f}° ({exc['task']}, {exc['mount']}; "
                  f"{sum(r['sign_flips'] for r in mine)} flips), own "
                  f"metric {max(r['metric_err_deg'] for r in mine):.2f}°, angles "
                  f"{max(r['angle_err_deg'] for r in mine):.2f}°, hold "
                  f"{_fmt(hold, '.2f')} s: {'met' if met else 'NOT met'}\n")
    out.write(f"({time.perf_counter() - t0:.0f} s)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

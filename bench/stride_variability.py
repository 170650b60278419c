"""Stride-time variability against the reference: the score's consistency item on real walks.

    .venv/bin/python bench/stride_variability.py [--data ../shared/data]

For every ipol walk-test trial (Voisard et al. 2023, AGPL-3.0: read from ``../shared/data``,
never copied into the repository; converted as bench/score_coverage.py does, no ``--mount``,
no ``--task``) this runs ``sacrum.analysis.analyze`` and takes the walk's used steps with a
stride time (what the score's ``variability.stride_time_cv_pct`` is made of). Each used
stride whose IC is within 0.1 s of a reference IC is paired with the reference's stride from
that IC (to the next reference IC on the same side, none of the reference's gaps in it).

Printed per trial and per person (the person's trials pooled, each trial's stride times
scaled to the pooled mean first, as :func:`sacrum.analysis.pool_sessions` does), as the
scorer computes it (per-side CV, the mean of the two sides):

* *reference*: the reference's strides paired with ours (those of our used strides that
  the reference has: a stride whose IC is no reference IC has no reference value);
* *ours, all*: every used stride, no outlier left out (the scorer before 2026-12-02);
* *ours, scored*: without the strides more than 3 robust SDs from their side's median
  (``sacrum.scoring.metrics.time_outliers_rows``, what the score uses).

and the error against the reference (bias and median |error|, in points of CV %) over the
trials. No constant is chosen here: the 3 SDs are the usual cut of stride-time variability
analysis (Hausdorff et al. 1998), not fitted to these walks.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gait_subjects import DEFAULT_DATA, load_all, ref_gaps
from score_coverage import ipol_csv

PAIR_TOL_S = 0.1


def side_cv(times: np.ndarray, sides: np.ndarray, trim: bool | str) -> float:
    """Mean over the two sides of the stride-time CV (%), as the scorer's
    ``variability.stride_time_cv_pct``; ``trim``: without its outliers (True: as the
    scorer; "classic": further than 3 plain SDs from the median, Hausdorff's rule as
    written, which the outliers themselves inflate)."""
    from sacrum.scoring.metrics import time_outliers_rows

    cvs = []
    for s in "LR":
        x = times[sides == s]
        if trim == "classic":
            x = x[np.abs(x - np.median(x)) <= 3 * x.std(ddof=1)]
        elif trim:
            x = x[~time_outliers_rows(x[None, :])[0]]
        if len(x) < 3:
            return float("nan")
        cvs.append(100.0 * x.std(ddof=1) / x.mean())
    return float(np.mean(cvs))


def used_strides(doc: dict) -> tuple[np.ndarray, np.ndarray]:
    """(stride time s, stance side) of the walk's used steps with a stride: the score's."""
    xs = [(s["stride_time_s"], s["stance_side"]) for s in doc["steps"]
          if s["task"] == "walk" and s["excluded"] is None and s["stride_time_s"] is not None]
    return np.array([x for x, _ in xs], float), np.array([s for _, s in xs])


def paired_strides(doc: dict, tr: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ours, reference, stance side) of the used walk strides with a reference stride."""
    r_t = np.concatenate([w["ic"] for w in tr["ref"]])
    r_s = np.concatenate([w["side"] for w in tr["ref"]])
    gaps = ref_gaps(r_t, r_s)
    ours, ref, side = [], [], []
    for s in doc["steps"]:
        if s["task"] != "walk" or s["excluded"] is not None or s["stride_time_s"] is None:
            continue
        j = int(np.argmin(np.abs(r_t - s["t_ic"])))
        if abs(r_t[j] - s["t_ic"]) > PAIR_TOL_S:
            continue
        nxt = [k for k in range(j + 1, len(r_t)) if r_s[k] == r_s[j]]
        if not nxt or any(a >= r_t[j] and b <= r_t[nxt[0]] for a, b in gaps):
            continue
        ours.append(s["stride_time_s"])
        ref.append(r_t[nxt[0]] - r_t[j])
        side.append(s["stance_side"])   # ours (ipol 4-1, 4-2 have the reference's swapped)
    return np.array(ours), np.array(ref), np.array(side)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore")
    from sacrum.analysis import analyze

    trials = [t for t in load_all(args.data) if t["name"].startswith("ipol")]
    rows, per = [], {}
    print("| trial | strides paired / used | reference CV % | ours, all | ours, scored | "
          "ours, 3 plain SDs |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for tr in trials:
            n = tr["name"].split()[1]
            csv = Path(tmp) / f"{n}.csv"
            ipol_csv(args.data / "ipol" / f"{n}_lb.txt", csv)
            doc = analyze(csv).to_json()
            _, r, rs = paired_strides(doc, tr)
            u, us = used_strides(doc)
            row = (side_cv(r, rs, False), side_cv(u, us, False), side_cv(u, us, True),
                   side_cv(u, us, "classic"))
            rows.append(row)
            per.setdefault(tr["subject"], []).append((u / u.mean(), us, r / r.mean(), rs))
            print(f"| {tr['name']} | {len(r)} / {len(u)} | " + " | ".join(f"{v:.1f}" for v in row)
                  + " |")
    print("\n| person (trials pooled) | strides paired / used | reference CV % | ours, all | "
          "ours, scored | ours, 3 plain SDs |")
    print("| --- | --- | --- | --- | --- | --- |")
    err: dict[str, dict[str, float]] = {}
    for sub, xs in per.items():
        u, us, r, rs = (np.concatenate([x[i] for x in xs]) for i in range(4))
        ref, cvs = side_cv(r, rs, False), {k: side_cv(u, us, k) for k in (True, "classic")}
        err[sub] = {k: abs(v - ref) for k, v in cvs.items()}
        print(f"| {sub} | {len(r)} / {len(u)} | {ref:.1f} | {side_cv(u, us, False):.1f} | "
              f"{cvs[True]:.1f} | {cvs['classic']:.1f} |")
    # the cut's scale chosen leave-one-person-out: on the other people's |error|
    picks = [min((True, "classic"), key=lambda k, s=s: sum(e[k] for p, e in err.items()
                                                          if p != s)) for s in err]
    print(f"\nleave-one-person-out, the robust SD is chosen in "
          f"{sum(p is True for p in picks)} of {len(picks)} folds (against 3 plain SDs)")
    a = np.array(rows)
    ok = np.isfinite(a).all(axis=1)
    a = a[ok]
    print(f"\nover {ok.sum()} trials, error against the reference (points of CV %):")
    for k, name in ((1, "ours, all"), (2, "ours, scored"), (3, "ours, 3 plain SDs")):
        e = a[:, k] - a[:, 0]
        print(f"- {name}: bias {np.mean(e):+.2f}, median |error| {np.median(np.abs(e)):.2f}, "
              f"largest {e[np.argmax(np.abs(e))]:+.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Score coverage: how often a real walk test gets a pelvic control score, and how sure it is.

    .venv/bin/python bench/score_coverage.py [--data ../shared/data] [--subjects 1,2]
                                             [--jobs 2] [--detail] [--slow K]

Runs ``sacrum.analysis.analyze`` (what ``sacrum analyze`` runs) on

* every ipol walk-test trial in ``DATA/ipol`` (Voisard et al. 2023, AGPL-3.0: read from
  ``../shared/data``, never copied into the repository): stand, walk 10 m, U-turn, walk
  back, stop. The ``.txt`` is converted to the project's IMU CSV (``t, ax, ay, az, gx, gy,
  gz``, SI) in a temporary directory, with the packets lost on the radio (gaps in
  ``PacketCounter``) as NaN rows on the 100 Hz packet timeline, and analysed without
  ``--mount`` (the mounting is found from the data) and without ``--task`` (the walking is
  found, as for a user's recording);
* the Mobilise-D HA/001 lab trials in ``DATA/mobgap`` (Test5 Trial1/2, straight walks;
  Test11 Trial1, simulated daily activities), acc g → m/s², gyr deg/s → rad/s, barometer
  as ``p_hpa``.

Printed per subject: trials, the fraction of trials with a walk score, the median score,
the median width of its 90 % interval (points), the median used steps per side (left,
right) and the median number of turns found; then the same pooled over the subjects; the
walk steps used and excluded by reason; the stair segments found (every trial is level
walking, so each is a false one); then each subject's trials pooled as one session
(:func:`sacrum.analysis.pool_sessions`).
``--detail`` prints every trial. ``--timing`` prints instead what the interval costs:
``score_walk`` with and without it on 20, 100 and 1,000 synthetic steps (the steps of
tests/test_score.py), median of 20 calls.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
G_MPS2 = 9.80665
MOBGAP_TRIALS = [("Test5", "Trial1"), ("Test5", "Trial2"), ("Test11", "Trial1")]


def ipol_csv(txt: Path, out: Path) -> None:
    """One ipol ``S-T_lb.txt`` as an IMU CSV; lost packets as NaN rows."""
    raw = np.loadtxt(txt, skiprows=2, delimiter="\t", usecols=range(7))
    pc = raw[:, 0].astype(np.int64)
    idx = pc - pc[0]
    n = int(idx[-1]) + 1
    rows = np.full((n, 6), np.nan)
    rows[idx] = raw[:, 1:7]
    t = np.arange(n) / 100.0
    _write(out, t, rows)


def mobgap_csv(root: Path, test: str, trial: str, out: Path) -> None:
    import scipy.io as sio

    d = sio.loadmat(root / "HA" / "001" / "data.mat", simplify_cells=True)["data"]
    su = d["TimeMeasure1"][test][trial]["SU"]["LowerBack"]
    acc = np.asarray(su["Acc"], float) * G_MPS2
    gyr = np.radians(np.asarray(su["Gyr"], float))
    fs = float(su["Fs"]["Acc"])
    t = np.arange(len(acc)) / fs
    bar = np.asarray(su.get("Bar", []), float).reshape(-1)
    _write(out, t, np.hstack([acc, gyr]), bar if len(bar) == len(t) else None)


def _write(out: Path, t: np.ndarray, rows: np.ndarray, p_hpa: np.ndarray | None = None) -> None:
    cols = [t[:, None], rows] + ([p_hpa[:, None]] if p_hpa is not None else [])
    header = "t,ax,ay,az,gx,gy,gz" + (",p_hpa" if p_hpa is not None else "")
    np.savetxt(out, np.hstack(cols), delimiter=",", header=header, comments="", fmt="%.7g")


def slow_csv(csv: Path, k: float) -> None:
    """Rewrite an IMU CSV as its motion replayed ``k`` times slower (sacrum.testing.slowed; the
    orientation for the earth frame from ``orientation_offline``); a barometer column
    is dropped (the path is the same, the pressure would have to be resampled too)."""
    from sacrum.testing.slowed import slow_recording

    tab = np.loadtxt(csv, delimiter=",", skiprows=1)
    t, acc, gyr = slow_recording(tab[:, 0], tab[:, 1:4], tab[:, 4:7], k)
    _write(csv, t, np.hstack([acc, gyr]))


def run_one(job: tuple[str, str, str, str, str | None, float]) -> dict:
    """Analyse one trial: (subject, trial, kind, source, bands, slowed k) → its analysis,
    slimmed."""
    from sacrum.analysis import analyze

    subject, trial, kind, source, bands, k = job
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "imu.csv"
        if kind == "ipol":
            ipol_csv(Path(source), csv)
        else:
            test, tr = trial.split("/")
            mobgap_csv(Path(source), test, tr, csv)
        if k != 1:
            slow_csv(csv, k)
        try:
            doc = analyze(csv, bands=bands).to_json()
        except ValueError as e:
            return {"subject": subject, "trial": trial, "error": str(e)}
    return {"subject": subject, "trial": trial, "doc": _slim(doc)}


def _slim(doc: dict) -> dict:
    """What the coverage needs of a document (the per-step list is dropped)."""
    walk = next((t for t in doc["summary"]["tasks"] if t["task"] == "walk"), None)
    keep = ("score", "score_interval", "score_message", "n_steps", "n_steps_by_side",
            "n_steps_used", "excluded_reasons", "turns_summary")
    return {"walk": {k: walk.get(k) for k in keep} if walk else None,
            "turns": doc.get("turns", []), "session_score": doc["summary"]["score"],
            "doc": doc}


def jobs_for(data: Path, subjects: set[str] | None, bands: str | None = None, k: float = 1.0
             ) -> list[tuple[str, str, str, str, str | None, float]]:
    jobs = []
    for txt in sorted((data / "ipol").glob("*_lb.txt"),
                      key=lambda p: tuple(int(x) for x in p.stem[:-3].split("-"))):
        s, t = txt.stem[:-3].split("-")
        if subjects is None or s in subjects:
            jobs.append((f"ipol {s}", t, "ipol", str(txt), bands, k))
    if subjects is None or "HA001" in subjects:
        for test, tr in MOBGAP_TRIALS:
            jobs.append(("mobgap HA001", f"{test}/{tr}", "mobgap", str(data / "mobgap"),
                         bands, k))
    return jobs


def _med(xs: list[float]) -> float:
    xs = [x for x in xs if x is not None and np.isfinite(x)]
    return statistics.median(xs) if xs else float("nan")


def _fmt(x: float, spec: str = ".0f") -> str:
    return "–" if x is None or not np.isfinite(x) else format(x, spec)


def figures(results: list[dict]) -> dict:
    n = len(results)
    walks = [r["doc"]["walk"] for r in results if "doc" in r and r["doc"]["walk"]]
    scored = [w for w in walks if w["score"] is not None]
    widths = [w["score_interval"][1] - w["score_interval"][0] for w in scored
              if w.get("score_interval")]
    return {"trials": n, "errors": sum("error" in r for r in results),
            "with_walk": len(walks), "scored": len(scored),
            "frac": len(scored) / n if n else float("nan"),
            "median_score": _med([w["score"] for w in scored]),
            "median_width": _med(widths),
            "steps_L": _med([w["n_steps_by_side"]["L"] for w in walks]),
            "steps_R": _med([w["n_steps_by_side"]["R"] for w in walks]),
            "turns": _med([len(r["doc"]["turns"]) for r in results if "doc" in r])}


def timing() -> None:
    import time

    sys.path.insert(0, str(REPO / "tests"))
    from sacrum.scoring.score import load_bands, score_walk
    from test_score import _steps, _summary_of

    bands = load_bands()
    for n in (10, 50, 500):
        steps = _steps(n)
        summ = _summary_of(steps)
        row = []
        for with_steps in (True, False):
            score_walk(summ, bands, steps=steps if with_steps else None)
            ts = []
            for _ in range(20):
                c = time.perf_counter()
                score_walk(summ, bands, steps=steps if with_steps else None)
                ts.append(time.perf_counter() - c)
            row.append(1e3 * statistics.median(ts))
        print(f"{2 * n} steps: score_walk with its interval {row[0]:.2f} ms, without "
              f"{row[1]:.2f} ms ({bands.interval.n_bootstrap} resamples)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--subjects", help="comma-separated: 1..6 (ipol), HA001 (mobgap)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--detail", action="store_true", help="print every trial")
    ap.add_argument("--dump", type=Path, help="write the per-trial figures as JSON here")
    ap.add_argument("--timing", action="store_true", help="the interval's cost, then exit")
    ap.add_argument("--slow", type=float, default=1.0, metavar="K",
                    help="every trial replayed K times slower (sacrum.testing.slowed): slower "
                         "walkers than the data hold")
    ap.add_argument("--bands", help="a bands file laid over the packaged one (e.g. the old "
                                    "gate: [score] min_steps_per_side = 10, "
                                    "max_interval_width = 100)")
    args = ap.parse_args(argv)
    if args.timing:
        timing()
        return 0
    logging.basicConfig(level=logging.ERROR)
    subjects = None
    if args.subjects:
        subjects = {s.strip() for s in args.subjects.split(",")}
    jobs = jobs_for(args.data, subjects, args.bands, args.slow)
    if not jobs:
        print(f"no trials found in {args.data}", file=sys.stderr)
        return 1
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        results = list(ex.map(run_one, jobs))

    by_subject: dict[str, list[dict]] = {}
    for r in results:
        by_subject.setdefault(r["subject"], []).append(r)
    if args.detail:
        print("| subject | trial | walk score (90 % interval) | steps used L/R | turns | "
              "why no score |")
        print("| --- | --- | --- | --- | --- | --- |")
        for r in results:
            w = r.get("doc", {}).get("walk")
            if w is None:
                why = r.get("error", "no walk task")
                print(f"| {r['subject']} | {r['trial']} | – | – | – | {why} |")
                continue
            iv = w.get("score_interval")
            sc = ("–" if w["score"] is None else f"{w['score']:.0f}"
                  + (f" ({iv[0]:.0f}–{iv[1]:.0f})" if iv else ""))
            why = "" if w["score"] is not None else w["score_message"]
            print(f"| {r['subject']} | {r['trial']} | {sc} | {w['n_steps_by_side']['L']}/"
                  f"{w['n_steps_by_side']['R']} | {len(r['doc']['turns'])} | {why} |")
        print()
    print("| subject | trials | with a walk score | median score | median 90 % interval "
          "width | median steps used L / R | median turns |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = [*by_subject.items(), ("all", results)]
    ipol = [r for r in results if r["subject"].startswith("ipol")]
    if ipol and len(ipol) != len(results):
        rows.append(("all ipol", ipol))
    for name, rs in rows:
        f = figures(rs)
        print(f"| {name} | {f['trials']} | {f['scored']} ({100 * f['frac']:.0f} %) | "
              f"{_fmt(f['median_score'])} | {_fmt(f['median_width'], '.1f')} | "
              f"{_fmt(f['steps_L'])} / {_fmt(f['steps_R'])} | {_fmt(f['turns'])} |")
    print()
    reasons: dict[str, int] = {}
    used = total = 0
    for r in results:
        w = r.get("doc", {}).get("walk")
        if w:
            used += w["n_steps_used"] or 0
            total += w["n_steps"] or 0
            for k, v in (w.get("excluded_reasons") or {}).items():
                reasons[k] = reasons.get(k, 0) + v
    print(f"walk steps: {used} of {total} used; excluded: "
          + ", ".join(f"{v} {k}" for k, v in sorted(reasons.items(), key=lambda x: -x[1])))
    # every trial here is level walking: each stair segment found is a false one
    stairs = [(r["subject"], r["trial"], s) for r in results if "doc" in r
              for s in r["doc"]["doc"].get("stairs", {}).get("segments", [])]
    n_with = len({(a, b) for a, b, _ in stairs})
    print(f"stair segments on these level walks (each a false one): {len(stairs)}, in "
          f"{n_with} of {len(results)} trials"
          + "".join(f"; {a}, trial {b}: {s['direction']} {s['t_start_s']:.1f}-"
                    f"{s['t_end_s']:.1f} s, confidence {s['confidence']:.2f}, "
                    f"{s['rise_m']:+.2f} m" for a, b, s in stairs))
    print()
    try:
        from sacrum.analysis import pool_sessions
    except ImportError:
        pool_sessions = None
    if pool_sessions is not None:
        print("| subject (all trials pooled as one session) | score (90 % interval) | "
              "steps used L / R |")
        print("| --- | --- | --- |")
        for name, rs in by_subject.items():
            docs = [r["doc"]["doc"] for r in rs if "doc" in r]
            if not docs:
                continue
            p = pool_sessions(docs, bands=args.bands)
            iv = p.get("score_interval")
            sc = ("no score: " + p["score_message"] if p["score"] is None else
                  f"{p['score']:.0f}" + (f" ({iv[0]:.0f}–{iv[1]:.0f})" if iv else ""))
            by = p.get("n_steps_by_side", {})
            print(f"| {name} | {sc} | {by.get('L', '–')} / {by.get('R', '–')} |")
    if args.dump:
        args.dump.write_text(json.dumps(
            [{k: v for k, v in r.items() if k != "doc"}
             | ({"walk": r["doc"]["walk"], "turns": r["doc"]["turns"]} if "doc" in r else {})
             for r in results], indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One answer from every command (issue 13 item 2): the differences between every pair of
commands and input paths, per real recording of ``../shared/data``.

For each recording (Mobilise-D HA001's three trials; IPOL walk tests: 10 m, U-turn, 10 m
back; BROAD trials: hand-held motion, no walking, so every path must agree on none),
written as an IMU CSV into a temporary folder (IPOL is AGPL: read from ../shared, never
copied), these paths are run:

``csv``
    ``sacrum analyze`` of the CSV: the host's offline orientation filter.
``bridged``
    the CSV with its lost samples bridged by linear interpolation onto the sample grid,
    as ``sacrum simulate --bridge`` bridges them before streaming, then ``sacrum
    analyze``. ``csv``–``bridged`` is the analysis' handling of gaps (steps across a gap
    are excluded; regularity and harmonic ratios over the gaps): measured, not bounded; it
    differs only where samples were lost.
``capture``
    the CSV through ``sacrum simulate`` (the firmware under MicroPython: its sample
    clock, int16 quantisation, its fusion, the packetizer), then ``sacrum analyze`` of
    that capture (the host's offline filter on the capture's samples), on the emulated
    ICM-42688-P (:data:`IMU_CHIP`). The CSV's lost samples are not delivered by the
    emulated IMU (a step in its FIFO record timestamps): the capture has them as
    ``sample_seq`` gaps at their places, as a device would, and no more (the loss counts
    are printed per recording).
``bcapture``
    ``sacrum simulate --bridge`` of the CSV (its gaps bridged, a capture without loss),
    then ``sacrum analyze``: ``bridged``–``bcapture`` is the firmware in the loop alone,
    on the same samples.
``device``
    the same capture analysed with the device's real-time quaternion
    (``sacrum.analyze(capture, device_orientation=True)``): measured, not bounded.
``export``
    ``sacrum export`` of that capture (its samples as CSV), then ``sacrum analyze``.
``report``, ``batch``, ``live``
    the capture as ``sacrum report`` reads it (``sessions.open_sessions``), as a
    ``sacrum batch`` row, and ``sacrum live --replay CAPTURE --headless --json OUT``.
``provisional``
    the live session on the replayed capture, its numbers when the data ended but before
    it converged on the analysis (the rolling window's, as the view shows them; measured,
    not bounded).
``session``
    the same live session's whole-session summary at that moment (every step the live
    scorer counted, its real-time filter, heading and zero): provisional–session is the
    rolling window's choice of steps, capture–session what the real-time stages change.
``walking``
    while the data streamed: the largest |rolling − final| over the live scorer's updates
    once it had :data:`WALK_MIN_USED` used steps per stance side (printed per recording;
    what a clinician saw while walking).

Each gives the used steps (of the metrics task), the contralateral drop per stance side
(°) and the session score. The bounds (issue 13): used steps ±1, drops within 0.2°,
score within 2 points, for capture↔export and capture↔report/batch/live (the same
analysis: 0), csv↔capture (the firmware in the loop, the CSV's loss kept) and
bridged↔bcapture (the firmware in the loop on gap-free samples). Measured only: csv↔bridged
(the analysis of lost samples as gaps) and capture↔device (the real-time fusion against
the offline filter: up to 1.8° of drop, why the analysis runs the host filter on a capture
too) and capture↔provisional (what the live view showed at the end of the data, from its
real-time filter, heading and rolling scorer, before it switched to the analysis). Run::

    .venv/bin/python bench/consistency.py            # a subset: 3 mobgap, 6 IPOL, 2 BROAD
    .venv/bin/python bench/consistency.py --all      # every recording (about 15 min)
    .venv/bin/python bench/consistency.py --only ipol-1-1 mobgap-Test5-Trial1
    .venv/bin/python bench/consistency.py --live-only   # capture, provisional, session

The data folder is ``../shared/data`` beside the checkout, or ``$SACRUM_DATA``.

tests/test_consistency.py asserts the bounds on a few of them.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("SACRUM_DATA",
                          Path(__file__).resolve().parents[2] / "shared" / "data"))
G_MPS2 = 9.80665
#: The bounds of issue 13 item 2: used steps, drop (°), score (points).
BOUNDS = {"steps_used": 1, "drop_L_deg": 0.2, "drop_R_deg": 0.2, "score": 2.0}
#: The firmware in the loop on the same data (bridged–bcapture) is held to BOUNDS too. What took it
#: out before (docs/live.md, "The firmware in the loop"): the offline orientation weighted its
#: backward pass's bias estimate, mostly its zero start, as much as the forward one's, learnt at a
#: standing, where the firmware had removed that bias from the capture's gyr (IPOL 2-4 0.23°, 1-4
#: 0.20°); the mounting estimate's 4-s walking minimum in float seconds (a CSV whose median
#: interval is 0.00999999 s: 3.99999 s of walking; mobgap Test5 Trial2 refused as a CSV, accepted
#: as its capture); a step exactly on the regularity band's edge, judged by float rounding or µs of
#: device clock (IPOL 3-4, 2.8 points); the firmware's bias correction, which steps at its first
#: rest and which a capture did not carry (IPOL 6-5 0.20/0.21°, the last one out): protocol 1.2's
#: BIAS packets carry it, ``sacrum.load`` adds it back. ``--all`` now (bridged–bcapture): 0 steps,
#: 0.15/0.15°, 0.8 points (IPOL 6-5), none out (0.10/0.10°, 0.6 points on the MPU-6050).
#: (a, b) path pairs compared, and what differs between them.
PAIRS = {
    ("capture", "export"): "a capture vs its exported CSV",
    ("csv", "capture"): "CSV vs firmware in the loop (its lost samples not delivered)",
    ("csv", "bridged"): "lost samples as gaps vs bridged (as simulate --bridge does)",
    ("bridged", "bcapture"): "CSV (gaps bridged) vs firmware in the loop on it (--bridge)",
    ("capture", "report"): "analyze vs report",
    ("capture", "batch"): "analyze vs batch",
    ("capture", "live"): "analyze vs live --headless --json",
    ("capture", "device"): "host offline filter vs the device's real-time quaternion",
    ("capture", "provisional"): "final vs the live view's values before it converged",
    ("capture", "session"): "final vs the live scorer's whole session before it converged",
    ("provisional", "session"): "the live rolling window vs the live whole session",
}
#: The live view against the final analysis (measured over the 44 recordings, ``--all
#: --live-only``, with the live mounting estimate and walking zero; docs/live.md, "How far
#: the live values are from the final ones"): at the end of the data, before the switch
#: (capture–provisional and capture–session: at most 9 used steps, 1.48° of drop, 10.1
#: points, IPOL 2-4; 9.3 before the final analysis added the device's gyro bias back
#: (protocol 1.2), which moved 2-4's final drops 0.15-0.17° onto its CSV's, away from the
#: live view's device quaternion; 7.7 before the thirteenth session's filter and metric
#: changes; the causes left are the device's real-time quaternion against the host's
#: offline smoother, and steps the live stream and the analysis exclude differently). On
#: the ICM-42688-P captures, whose lost samples stay lost (2026-12-02): 9 steps, 1.86/1.91°
#: of the panel's drop (IPOL 3-3 L, 3-6 R: 15 and 13 % of their samples lost; the panel's
#: median of the last 20 used steps against all 31 and 34, provisional–session 1.68 and
#: 1.32°; the live whole session at most 1.14/1.37°), 10.1 points; the drop bound went from
#: 1.5 to 2° ...
LIVE_BOUNDS = {"steps_used": 10, "drop_L_deg": 2.0, "drop_R_deg": 2.0, "score": 11.0}
#: ... and at any update while walking once there are WALK_MIN_USED used steps per side
#: (at most 2.29° of drop and 23.8 points: a rolling window of 10 to 20 steps, and after
#: sitting a 4-s walking zero until the strides give theirs; 3.07° and 23.2 points since the
#: ICs are timed at their heel-strike transient, step 2(h): mobgap Test11 Trial1, whose
#: rolling drop of 5-9 used steps a side swings from -0.4 to 2.9° with the rule off too,
#: the per-step drops of a person with a final drop of 0.6-0.8° scattering ±2°; the other 36
#: recordings within 2.36°).
LIVE_WALK_BOUNDS = {"drop_L_deg": 3.5, "drop_R_deg": 3.5, "score": 25.0}
#: ``--live-only``: the paths run.
LIVE_PATHS = ("capture", "provisional", "session")
#: ``walking``: used steps per stance side before the rolling values are compared (the
#: packaged bands try a score from 5 per side).
WALK_MIN_USED = 5
#: Pairs whose difference is measured, not bounded: the device's real-time fusion against
#: the host's offline smoother on the same samples (analyze uses the latter for both).
#: csv–capture is bounded since the ICM-42688-P's driver places a lost sample from its FIFO
#: record timestamps instead of resetting the FIFO (docs/live.md, "Lost samples stay lost"):
#: ``--all`` 0 steps, 0.09/0.07°, 0.4 points, none out; the captures lack 6,003 samples, the
#: CSVs' 6,003 within their span. Before (the MPU-6050's FIFO resets at each loss, taking the
#: samples a simulated loop pause queued with it: 596 more lost) 12 steps, 0.49/0.59°, 10.5
#: points, 11 out, measured only.
MEASURED_ONLY = {("capture", "device"), ("csv", "bridged"), ("provisional", "session")}
#: Pairs held to ``LIVE_BOUNDS`` instead of ``BOUNDS`` (the live view before it converged);
#: a recording the final analysis refuses while the live view runs (BROAD standing only:
#: "cannot tell forward") is counted apart, not out.
LIVE_BOUNDED = {("capture", "provisional"), ("capture", "session")}
#: The emulated IMU of ``capture`` and ``bcapture``: the ICM-42688-P, the production chip,
#: whose FIFO records carry a timestamp, so the firmware places a lost sample where it was
#: without resetting its FIFO (the MPU-6050's records carry none: docs/live.md, "Lost samples
#: stay lost").
IMU_CHIP = "icm42688"
SUBSET = ["mobgap-Test5-Trial1", "mobgap-Test5-Trial2", "mobgap-Test11-Trial1",
          "ipol-1-1", "ipol-2-1", "ipol-3-1", "ipol-4-1", "ipol-5-1", "ipol-6-1",
          "broad-10", "broad-24"]


# -- the recordings ---------------------------------------------------------------------
def recordings(names: list[str] | None = None):
    """(name, t_s, acc_mps2, gyr_radps) of every real recording (or of ``names``)."""
    import scipy.io

    want = set(names) if names else None

    def wanted(name: str) -> bool:
        return want is None or name in want

    mat = scipy.io.loadmat(DATA / "mobgap/HA/001/data.mat", simplify_cells=True)
    for test, trials in mat["data"]["TimeMeasure1"].items():
        for trial, rec in trials.items():
            name = f"mobgap-{test}-{trial}"
            if wanted(name):
                su = rec["SU"]["LowerBack"]  # g and deg/s
                yield (name, np.asarray(su["Timestamp"], float),
                       np.asarray(su["Acc"], float) * G_MPS2,
                       np.deg2rad(np.asarray(su["Gyr"], float)))
    for p in sorted((DATA / "ipol").glob("*_lb.txt")):
        name = f"ipol-{p.name[:-7]}"
        if wanted(name):
            d = np.loadtxt(p, skiprows=2)
            k = (d[:, 0] - d[0, 0]).astype(int)  # the packet timeline: gaps are lost samples
            full = np.full((k[-1] + 1, 6), np.nan)
            full[k] = d[:, 1:7]
            yield name, np.arange(len(full)) / 100.0, full[:, :3], full[:, 3:]
    for p in sorted((DATA / "broad").glob("*.mat")):
        name = f"broad-{p.stem[:2]}"
        if wanted(name):
            b = scipy.io.loadmat(p, simplify_cells=True)
            rate = float(b["sampling_rate"])
            n = int(60 * rate)  # the first 60 s: the firmware runs in real code
            yield (name, np.arange(n) / rate, np.asarray(b["imu_acc"], float)[:n],
                   np.asarray(b["imu_gyr"], float)[:n])


def write_imu_csv(path: Path, t, acc, gyr) -> Path:
    """t (s), acc (m/s²), gyr (rad/s); lost samples as "nan"."""
    np.savetxt(path, np.column_stack([t, acc, gyr]), fmt=["%.6f"] + ["%.7g"] * 6,
               delimiter=",", header="t,ax,ay,az,gx,gy,gz", comments="")
    return path


# -- the paths --------------------------------------------------------------------------
def numbers(doc: dict) -> dict[str, float]:
    """What a reader compares: used steps of the metrics task, drop per stance side (°),
    the session score (NaN: none)."""
    summ = doc["summary"]
    head = next((t for t in summ["tasks"] if t["task"] == summ.get("metrics_task")), {})
    drop = summ.get("contralateral_drop_deg") or {}

    def f(x):
        return math.nan if x is None else float(x)

    return {"steps_used": float(head.get("n_steps_used") or 0), "drop_L_deg": f(drop.get("L")),
            "drop_R_deg": f(drop.get("R")), "score": f(summ.get("score"))}


def _cli(*args: str) -> None:
    from sacrum.apps.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in args])
    if rc != 0:
        raise RuntimeError(err.getvalue().strip() or f"sacrum {args[0]}: exit {rc}")


def run_paths(csv: Path, work: Path, only: tuple[str, ...] | None = None, *,
              reuse_capture: bool = False
              ) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Every path (or those in ``only``) on one recording: ({path: numbers},
    {path: seconds}); with ``provisional``, also ``walking`` ({quantity: largest |rolling −
    final|} while the data streamed) when the capture has a value. ``reuse_capture``: a
    capture ``sacrum simulate`` already made of this CSV in ``work`` is used again (the
    tests, which run some recordings twice)."""
    from sacrum.analysis import analyze
    from sacrum.apps.batch import row_of
    from sacrum.apps.sessions import open_sessions

    out, took = {}, {}

    def timed(name, fn):
        if only is not None and name not in only:
            return
        t0 = time.perf_counter()
        try:
            out[name] = fn()
        except (ValueError, RuntimeError) as e:  # e.g. no walking to find the mounting from
            out[name] = dict.fromkeys(BOUNDS, math.nan) | {"error": str(e).splitlines()[0]}
        took[name] = time.perf_counter() - t0

    cap = work / (csv.stem + ".sacrum")
    exp = work / (csv.stem + ".export.csv")
    timed("csv", lambda: numbers(analyze(csv).to_json()))
    timed("bridged", lambda: numbers(analyze(bridged(csv, work)).to_json()))
    t0 = time.perf_counter()
    if not (reuse_capture and cap.exists()):
        _cli("simulate", "--imu", csv, "--out", cap, "--imu-chip", IMU_CHIP)
    took["simulate"] = time.perf_counter() - t0

    def bridged_capture():
        bcap = work / (csv.stem + ".bridged.sacrum")
        if not (reuse_capture and bcap.exists()):
            _cli("simulate", "--imu", csv, "--out", bcap, "--bridge", "--imu-chip", IMU_CHIP)
        return numbers(analyze(bcap).to_json())

    timed("bcapture", bridged_capture)
    timed("capture", lambda: numbers(analyze(cap).to_json()))
    timed("device", lambda: numbers(analyze(cap, device_orientation=True).to_json()))
    if only is None or "export" in only:
        with contextlib.redirect_stdout(io.StringIO()):
            _cli("export", cap, "--csv", exp)
    timed("export", lambda: numbers(analyze(exp).to_json()))
    timed("report", lambda: numbers(open_sessions([str(cap)])[0].analysis))

    def batch():
        from sacrum.apps.batch import analyze_capture

        r = analyze_capture(str(cap), {})
        if "error" in r:
            raise RuntimeError(r["error"])
        row = row_of(r["doc"])

        def f(x):
            return math.nan if x is None else float(x)

        return {"steps_used": float(row["n_steps_used"] or 0),
                "drop_L_deg": f(row["contralateral_drop_L_deg"]),
                "drop_R_deg": f(row["contralateral_drop_R_deg"]), "score": f(row["score"])}

    timed("batch", batch)

    def live():
        js = work / (csv.stem + ".live.json")
        _cli("live", "--replay", cap, "--headless", "--out-dir", work / "live", "--json", js)
        return numbers(json.loads(js.read_text()))

    timed("live", live)

    live_session = {}

    def provisional():
        """What the live view showed when the data ended, before it converged: the live
        scorer's rolling numbers (real-time filter and heading, steps as they came)."""
        from sacrum.apps.live.cli import make_session

        session = make_session("replay", str(cap), speed=None, history_s=3600.0)
        session.converge = lambda: None  # the last provisional values stay
        rolling = []  # (used steps per side, numbers) after each update with new steps
        take = session.view.take_update

        def recording_take(u, *a, **k):
            take(u, *a, **k)
            if u.updated and u.summary is not None:
                used = [s.stance_side for s in session.scorer.steps if s.excluded is None]
                rolling.append((min(used.count("L"), used.count("R")),
                                live_numbers(u.summary, u.score, len(used))))

        session.view.take_update = recording_take
        session.run_sync()
        snap = session.snapshot()
        live_session["session"] = session
        live_session["rolling"] = rolling
        return {"steps_used": float(snap.steps_used),
                "drop_L_deg": float(snap.drop_deg["L"]), "drop_R_deg": float(snap.drop_deg["R"]),
                "score": math.nan if snap.score is None else float(snap.score)}

    timed("provisional", provisional)

    def session_whole():
        if "session" not in live_session:
            provisional()
        sc = live_session["session"].scorer
        return live_numbers(sc.session_summary(), sc.session_score(),
                            sum(s.excluded is None for s in sc.steps))

    timed("session", session_whole)
    if "rolling" in live_session and "capture" in out and "error" not in out["capture"]:
        fin = out["capture"]
        walk = dict.fromkeys(BOUNDS, 0.0)
        for per_side, v in live_session["rolling"]:
            if per_side < WALK_MIN_USED:
                continue
            for k in ("drop_L_deg", "drop_R_deg", "score"):
                if math.isfinite(v[k]) and math.isfinite(fin[k]):
                    walk[k] = max(walk[k], abs(v[k] - fin[k]))
        walk["n_updates"] = sum(p >= WALK_MIN_USED for p, _ in live_session["rolling"])
        out["walking"] = walk
    return out, took


def live_numbers(summary, score, n_used: int) -> dict[str, float]:
    """A live WalkSummary and TaskScore as :func:`numbers`."""
    def f(x):
        return math.nan if x is None else float(x)

    drop = summary.contralateral_drop_deg if summary is not None else {}
    return {"steps_used": float(n_used), "drop_L_deg": f(drop.get("L")),
            "drop_R_deg": f(drop.get("R")),
            "score": math.nan if score is None else f(score.score)}


def bridged(csv: Path, work: Path, rate_hz: int = 100) -> Path:
    """The CSV's lost samples bridged as ``sacrum simulate`` bridges them (its ``resample``
    of the rows with all six values, at the rate it streams)."""
    from sacrum.io.imucsv import read_imu_csv
    from sacrum.testing.simulate import resample

    t, acc, gyr = read_imu_csv(csv)
    ok = np.isfinite(acc).all(axis=1) & np.isfinite(gyr).all(axis=1)
    both = resample(t[ok], np.hstack([acc, gyr])[ok], rate_hz)
    grid = t[ok][0] + np.arange(len(both)) / rate_hz
    return write_imu_csv(work / (csv.stem + ".bridged.csv"), grid, both[:, :3], both[:, 3:])


def loss_counts(csv: Path, work: Path) -> dict[str, int] | None:
    """Lost samples of the CSV and of its capture (``sacrum simulate``, in ``work``): the
    counts, the capture's gaps, and the CSV's lost samples within the capture's span
    (which starts a few loop steps into the CSV and stops before its end). None without
    the capture."""
    import sacrum

    cap = work / (csv.stem + ".sacrum")
    if not cap.exists():
        return None
    try:
        rc, rp = sacrum.load(csv), sacrum.load(cap)
    except ValueError:
        return None
    lost_c = ~np.isfinite(rc.acc_mps2).all(axis=1)
    lost_p = ~np.isfinite(rp.acc_mps2).all(axis=1)
    first = int(np.flatnonzero(~lost_c)[0])  # the capture's sample 0 is about here
    t0 = rc.t_s[first] + rp.t_s[0]
    i0 = int(np.searchsorted(rc.t_s, t0 - 0.5 / rc.rate_hz))
    span = lost_c[i0:i0 + len(lost_p)]
    return {"csv": int(lost_c.sum()), "csv_n": len(lost_c), "capture": int(lost_p.sum()),
            "capture_n": len(lost_p), "gaps": int(rp.loss.get("gaps", 0)),
            "csv_in_span": int(span.sum())}


def differences(res: dict[str, dict[str, float]]) -> dict[tuple[str, str], dict[str, float]]:
    """|a − b| per pair and quantity (0 where both are NaN, inf where one is; both failing
    with an error is agreement, one failing is not)."""
    out = {}
    for a, b in PAIRS:
        if a not in res or b not in res:
            continue
        d = {}
        if ("error" in res[a]) != ("error" in res[b]):
            out[(a, b)] = dict.fromkeys(BOUNDS, math.inf)
            continue
        for k in BOUNDS:
            x, y = res[a][k], res[b][k]
            d[k] = 0.0 if (math.isnan(x) and math.isnan(y)) else (
                math.inf if (math.isnan(x) or math.isnan(y)) else abs(x - y))
        out[(a, b)] = d
    return out


def holds(d: dict[str, float], bounds: dict[str, float] = BOUNDS) -> bool:
    return all(d[k] <= bounds[k] + 1e-9 for k in bounds)


def bound_of(pair: tuple[str, str]) -> dict[str, float] | None:
    """The bounds a pair is held to: ``LIVE_BOUNDS`` for the live view before it converged,
    ``BOUNDS`` for the rest, None for a pair measured only."""
    if pair in MEASURED_ONLY:
        return None
    return LIVE_BOUNDS if pair in LIVE_BOUNDED else BOUNDS


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--all", action="store_true", help="every recording, not the subset")
    p.add_argument("--only", nargs="+", metavar="NAME", help="these recordings")
    p.add_argument("--slow", type=float, default=1.0, metavar="K",
                   help="every recording replayed K times slower (sacrum.testing.slowed): the "
                        "commands on slower walkers than the data hold")
    p.add_argument("--live-only", action="store_true",
                   help="only the live paths: " + ", ".join(LIVE_PATHS) + " (and walking)")
    args = p.parse_args(argv)
    if not DATA.is_dir():
        print(f"no reference data at {DATA}")
        return 1
    names = args.only or (None if args.all else SUBSET)
    print(f"bounds: used steps ±{BOUNDS['steps_used']}, drops ±{BOUNDS['drop_L_deg']}°, "
          f"score ±{BOUNDS['score']} points; |a − b| per pair (— : both none)")
    head = f"{'recording':<22} {'pair':<18} {'steps':>5} {'drop L':>7} {'drop R':>7} {'score':>6}"
    failed: dict[tuple[str, str], int] = {}
    one_failed: dict[tuple[str, str], int] = {}
    worst: dict[tuple[str, str], dict[str, float]] = {}
    walk_worst = {"drop_L_deg": 0.0, "drop_R_deg": 0.0, "score": 0.0}
    walk_all: list[float] = []
    walk_n = 0
    no_value: dict[tuple[str, str], int] = {}
    loss_total: dict[str, int] = {}
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, t, acc, gyr in recordings(names):
            if args.slow != 1:
                from sacrum.testing.slowed import slow_recording

                t, acc, gyr = slow_recording(t, acc, gyr, args.slow)
            csv = write_imu_csv(work / f"{name}.csv", t, acc, gyr)
            res, took = run_paths(csv, work, LIVE_PATHS if args.live_only else None)
            walk = res.pop("walking", None)
            n += 1
            print(f"\n{name}: " + "; ".join(
                (f"{k} error: {v['error']}" if "error" in v else
                 f"{k} {v['steps_used']:.0f} steps, drop {v['drop_L_deg']:.2f}/"
                 f"{v['drop_R_deg']:.2f}°, score {v['score']:.1f}") for k, v in res.items()
                if k in ("csv", "bridged", "capture"))
                + f" ({sum(took.values()):.0f} s)")
            lost = loss_counts(csv, work)
            if lost is not None:
                for k, v in lost.items():
                    loss_total[k] = loss_total.get(k, 0) + v
                print("  lost samples: CSV {csv} of {csv_n}, capture {capture} of {capture_n} "
                      "({gaps} gaps, {longer} samples more than the CSV's at them)".format(
                          **lost, longer=lost["capture"] - lost["csv_in_span"]))
            if walk is not None:
                walk_n += 1
                for k in ("drop_L_deg", "drop_R_deg", "score"):
                    walk_worst[k] = max(walk_worst[k], walk[k])
                walk_all.append(max(walk["drop_L_deg"], walk["drop_R_deg"]))
                print(f"  while walking ({walk['n_updates']} updates with {WALK_MIN_USED}+ used "
                      f"steps per side): largest |rolling − final| drop "
                      f"{walk['drop_L_deg']:.2f}/{walk['drop_R_deg']:.2f}°, "
                      f"score {walk['score']:.1f}")
            print(head)
            for pair, d in differences(res).items():
                bounds = bound_of(pair)
                ok = (bounds is None or holds(d, bounds)
                      or (pair in LIVE_BOUNDED and math.isinf(d["steps_used"])))
                failed[pair] = failed.get(pair, 0) + (not ok)
                w = worst.setdefault(pair, dict.fromkeys(BOUNDS, 0.0))
                if math.isinf(d["steps_used"]):  # one path failed, the other did not
                    one_failed[pair] = one_failed.get(pair, 0) + 1
                    continue
                if any(math.isinf(d[k]) for k in BOUNDS):   # one has a value, the other not
                    no_value[pair] = no_value.get(pair, 0) + 1
                for k in BOUNDS:
                    if not math.isinf(d[k]):
                        w[k] = max(w[k], d[k])
                cells = [f"{d['steps_used']:5.0f}", f"{d['drop_L_deg']:7.2f}",
                         f"{d['drop_R_deg']:7.2f}", f"{d['score']:6.1f}"]
                print(f"{'':<22} {pair[0] + '–' + pair[1]:<18} " + " ".join(cells)
                      + ("" if ok else "  ✗ out of the live bounds" if pair in LIVE_BOUNDED
                         else "  ✗ out of the issue's bounds"))
            sys.stdout.flush()
    print(f"\nover {n} recordings: largest |a − b| where both paths ran, recordings out of "
          "bounds (of them: one path failed, the other not)")
    print(f"{'pair':<18} {'steps':>5} {'drop L':>7} {'drop R':>7} {'score':>6}  out  what")
    for pair, what in PAIRS.items():
        if pair not in worst:
            continue
        w = worst[pair]
        print(f"{pair[0] + '–' + pair[1]:<18} {w['steps_used']:5.0f} {w['drop_L_deg']:7.2f} "
              f"{w['drop_R_deg']:7.2f} {w['score']:6.1f}  "
              + (" – " if pair in MEASURED_ONLY else f"{failed.get(pair, 0):3d}")
              + f"  {what}" + (f" ({one_failed[pair]} failed on one side)"
                               if one_failed.get(pair) else "")
              + (f" ({no_value[pair]} with a value on one side only)"
                 if no_value.get(pair) else ""))
    if loss_total:
        print(f"lost samples over the recordings: CSV {loss_total['csv']:,}, their captures "
              f"{loss_total['capture']:,} (of them the CSV's within the capture's span: "
              f"{loss_total['csv_in_span']:,})")
    if walk_n:
        print(f"while walking, over {walk_n} recordings with a final value: largest |rolling − "
              f"final| drop L {walk_worst['drop_L_deg']:.2f}°, R {walk_worst['drop_R_deg']:.2f}°, "
              f"score {walk_worst['score']:.1f}; per recording the larger side's: median "
              f"{float(np.median(walk_all)):.2f}°, {sum(x > 1.0 for x in walk_all)} over 1°; "
              + ("within" if holds(walk_worst, LIVE_WALK_BOUNDS) else "OUT of")
              + f" LIVE_WALK_BOUNDS {LIVE_WALK_BOUNDS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

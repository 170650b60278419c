"""Speed of the scorer: a live update (per notification and per stride) and a whole hour offline.

The recording is the pelvis-motion phantom (``sacrum.testing.walking_phantom.walking_phantom``) at
200 Hz
(stand 3 s, walk 100 steps with known drops, stand 2 s; about a minute), repeated end to end to fill
the session: one walking bout a minute, sensor noise and biases as in the tests.
(``sacrum.testing.generator.synthetic_walk`` has no heel strikes, so no gait events to score.)

Live: :class:`sacrum.scoring.livescore.LiveScorer` fed one BLE notification (11 samples) at a
time; the cost of every update, and separately of the updates in which steps come out
(those recompute the rolling summary and score: once a step, twice a stride), then the
session summary and score at the end. Offline, the ``sacrum analyze`` path:
``analyze_recording`` (smoothed orientation, mounting given) + ``step_metrics`` +
``body_acceleration`` + ``summarize_walk`` + ``score_walk``; and the LiveScorer fed the
whole hour in one call (the same code as live).

Run: .venv/bin/python bench/scorer_speed.py [--minutes 60] [--live-minutes 60]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sacrum.scoring.livescore import LiveScorer
from sacrum.scoring.metrics import body_acceleration, step_metrics, summarize_walk
from sacrum.scoring.score import format_score, score_walk
from sacrum.signal.mounting import parse_mount
from sacrum.signal.pipeline import analyze_recording
from sacrum.testing.walking_phantom import walking_phantom

RATE = 200.0
CHUNK = 11


def session(minutes: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_s, acc_mps2, gyr_radps): the phantom repeated to ``minutes``."""
    ph = walking_phantom(rate_hz=RATE, n_steps=100, seed=3)
    reps = int(np.ceil(minutes * 60 * RATE / len(ph["t"])))
    n = int(minutes * 60 * RATE)
    acc = np.tile(ph["acc"], (reps, 1))[:n]
    gyr = np.tile(ph["gyr"], (reps, 1))[:n]
    return np.arange(n) / RATE, acc, gyr


def pct(x, q) -> float:
    return float(np.percentile(x, q)) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--live-minutes", type=float, default=60.0)
    args = ap.parse_args()
    t, acc, gyr = session(args.minutes)
    mount = parse_mount("recommended")
    # warm up (numba kernels, imports) so compile time is not measured
    w = LiveScorer(RATE, mount)
    w.update(t[:4000], acc[:4000], gyr[:4000])
    analyze_recording(t[:4000], acc[:4000], gyr[:4000], RATE, q_sensor_to_body=mount)

    # live, per notification
    n_live = min(len(t), int(args.live_minutes * 60 * RATE))
    ls = LiveScorer(RATE, mount)
    quiet, stepping, n_steps = [], [], 0
    t_all = time.perf_counter()
    for i in range(0, n_live, CHUNK):
        s = slice(i, min(i + CHUNK, n_live))
        c0 = time.perf_counter()
        u = ls.update(t[s], acc[s], gyr[s])
        c = time.perf_counter() - c0
        (stepping if u.steps else quiet).append(c)
        n_steps += len(u.steps)
    ls.flush()
    live_total = time.perf_counter() - t_all
    c0 = time.perf_counter()
    sess = ls.session_score()
    session_s = time.perf_counter() - c0
    every = np.array(quiet + stepping)
    print(f"live, {n_live / RATE / 60:g} min at {RATE:g} Hz, {CHUNK}-sample notifications "
          f"({len(every):,} updates, {n_steps:,} steps): {live_total:.1f} s "
          f"= {n_live / RATE / live_total:,.0f}x real time")
    print(f"  every update: median {pct(every, 50):.3f} ms, p99 {pct(every, 99):.3f} ms, "
          f"max {every.max() * 1e3:.1f} ms")
    print(f"  updates without new steps ({len(quiet):,}): median {pct(quiet, 50):.3f} ms, "
          f"p99 {pct(quiet, 99):.3f} ms")
    print(f"  updates with new steps ({len(stepping):,}; rolling summary + score): median "
          f"{pct(stepping, 50):.2f} ms, p99 {pct(stepping, 99):.2f} ms, "
          f"max {max(stepping) * 1e3:.1f} ms; per stride (two steps) about "
          f"{2 * np.median(stepping) * 1e3:.1f} ms")
    print(f"  session summary + score at the end ({len(ls.steps):,} steps): "
          f"{session_s * 1e3:.0f} ms; score "
          + (f"{sess.score:.1f}" if sess.score is not None else f"none ({sess.message})"))

    # offline, the analyze path
    duration_s = len(t) / RATE
    c0 = time.perf_counter()
    res = analyze_recording(t, acc, gyr, RATE, q_sensor_to_body=mount)
    c1 = time.perf_counter()
    steps = step_metrics(res.t_s, res.angles_rad, res.events, res.gait.strides, res.gait.turns)
    acc_body = body_acceleration(res.q_sensor_to_earth, acc, res.heading_rad)
    summary = summarize_walk(steps, res.t_s, res.angles_rad, acc_body, res.gait.strides)
    score = score_walk(summary, steps=steps)
    c2 = time.perf_counter()
    print(f"offline, {args.minutes:g} min ({len(t):,} samples): analyze_recording "
          f"{c1 - c0:.2f} s + steps, summary, score {c2 - c1:.2f} s = {c2 - c0:.2f} s "
          f"= {duration_s / (c2 - c0):,.0f}x real time; {len(steps):,} steps, "
          f"score {format_score(score.score, score.interval)}")

    # offline, the live code fed the whole session at once
    c0 = time.perf_counter()
    whole = LiveScorer(RATE, mount)
    whole.update(t, acc, gyr)
    whole.flush()
    whole_score = whole.session_score()
    c1 = time.perf_counter()
    print(f"offline, LiveScorer fed the whole {args.minutes:g} min in one update: "
          f"{c1 - c0:.2f} s = {duration_s / (c1 - c0):,.0f}x real time; "
          f"{len(whole.steps):,} steps, score "
          f"{format_score(whole_score.score, whole_score.interval)}")


if __name__ == "__main__":
    main()

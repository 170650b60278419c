"""``sacrum analyze``: the command line of :func:`sacrum.analysis.analyze`.

Prints the summary of the one :class:`~sacrum.analysis.Analysis` of the input (and writes
its document with ``--json``); the numbers are the Analysis', nothing is computed here.
"""

from __future__ import annotations

import argparse
from typing import Any


def _score_text(entry: dict[str, Any]) -> str:
    from sacrum.scoring.score import format_score

    if entry["score"] is None:
        return f"no score ({entry['score_message'].removeprefix('no score: ')})"
    if entry["kind"] == "exercise":
        sets = [s["score"] for s in entry["exercise"]["sets"]]
        each = ", ".join("–" if x is None else f"{x:.0f}" for x in sets)
        return (f"score {format_score(entry['score'], None)} (the mean of the sets' "
                f"{each}; provisional bands, no interval)")
    parts = ", ".join(f"{k} {format_score(c['score'], c.get('interval'))}"
                      for k, c in entry["components"].items())
    level = entry.get("score_interval_level") or 0.9
    iv = " and 90 % intervals" if level == 0.9 else f" and {100 * level:g} % intervals"
    return (f"score {format_score(entry['score'], entry.get('score_interval'))} "
            f"(components{iv if entry.get('score_interval') else ''}: {parts})")


def _steps_text(t: dict[str, Any]) -> str:
    by = t.get("n_steps_by_side") or {}
    text = (f"{t['n_steps']} steps, {t.get('n_steps_used', 0)} used "
            f"({by.get('L', 0)} left, {by.get('R', 0)} right stance)")
    drop = t.get("contralateral_drop_deg") or {}
    if any(drop.get(s) is not None for s in "LR"):
        f = {s: "–" if drop.get(s) is None else f"{drop[s]:.1f}°" for s in "LR"}
        text += f", drop {f['L']} left / {f['R']} right stance"
    return text


def _exercise_text(ex: dict[str, Any]) -> str:
    sets = f"{ex['n_sets']} set{'s' if ex['n_sets'] != 1 else ''}"
    if ex["held"]:
        n = ex["n_holds"] or 0
        held = ex.get("hold_s")
        return (f"{n} hold{'s' if n != 1 else ''}"
                + (f", longest {held:.1f} s" if held is not None else "") + f" ({sets})")
    n, k = ex["n_repetitions"], ex["n_partial"]
    return (f"{n} repetition{'s' if n != 1 else ''}"
            + (f" and {k} partial" if k else "") + f" in {sets}")


def _run_text(t: dict[str, Any]) -> str:
    by = t.get("n_steps_by_side") or {}
    text = (f"{t['n_steps']} running steps, {t.get('n_steps_used', 0)} used "
            f"({by.get('L', 0)} left, {by.get('R', 0)} right stance)")
    if t.get("n_walking_steps"):
        text += f", {t['n_walking_steps']} walking steps left out"
    if t.get("cadence_spm") is not None:
        text += f", cadence {t['cadence_spm']:.0f} steps/min"
    drop = t.get("contralateral_drop_deg") or {}
    if any(drop.get(s) is not None for s in "LR"):
        f = {s: "–" if drop.get(s) is None else f"{drop[s]:.1f}°" for s in "LR"}
        text += f", drop {f['L']} left / {f['R']} right stance"
    contact = (t.get("contact_time_s") or {}).get("all")
    vo = (t.get("vertical_oscillation_m") or {}).get("all")
    if contact is not None:
        text += f", contact {1000 * contact:.0f} ms"
    if vo is not None:
        text += f", oscillation {100 * vo:.1f} cm"
    return text


def _turns_text(t: dict[str, Any]) -> str | None:
    ts = t.get("turns_summary") or {}
    n = ts.get("n_turns") or 0
    if not n:
        return None
    what = (f"{n} turn{'s' if n != 1 else ''} ({ts['n_left']} left, {ts['n_right']} right)")
    steps = (f"{ts['n_steps']:.0f} steps" if ts.get("n_steps") is not None
             else "steps not found")
    if n == 1:
        return (f"{what}: {ts['angle_deg']:.0f}° in {ts['duration_s']:.1f} s, peak "
                f"{ts['peak_rate_dps']:.0f}°/s, {steps}")
    return (f"{what}, median {ts['angle_deg']:.0f}° in {ts['duration_s']:.1f} s, peak "
            f"{ts['peak_rate_dps']:.0f}°/s, {steps}")


def cmd_analyze(args: argparse.Namespace) -> int:
    from sacrum.analysis import ANGLE_REFERENCES, analyze
    from sacrum.signal.mounting import MountingError

    try:
        result = analyze(args.input, task=args.task, mount=args.mount, bands=args.bands,
                         check_units=not args.no_unit_check)
    except MountingError as e:
        if "--mount" in str(e):
            raise
        raise MountingError(f"{e}; give the mounting with --mount (e.g. --mount recommended)"
                            ) from e
    if args.json:
        result.write_json(args.json)
    rec, steps, summ = result.recording, result.steps, result.summary
    sides = {s: int((steps["stance_side"] == s).sum()) for s in "LR"}
    used = len(result.used_steps)
    duration = float(rec.t_s[-1] - rec.t_s[0])
    print(f"analyzed {rec.path} ({rec.kind}, {duration:.1f} s at "
          f"{rec.rate_hz:.0f} Hz): {len(steps)} steps ({sides['L']} L, {sides['R']} R), "
          f"{used} used, {len(summ['tasks'])} task{'s' if len(summ['tasks']) != 1 else ''}")
    for t in summ["tasks"]:
        if t["kind"] == "stance":
            sls = t["single_leg_stance"]
            held = sls.get("time_held_s")
            what = (f"{sls['n_trials']} trial{'s' if sls['n_trials'] != 1 else ''}"
                    + (f", held {held:.1f} s" if held is not None else ", no hold found"))
        elif t["kind"] == "repetitions":
            n = t["repetitions"]["n_repetitions"]
            what = f"{n} repetition{'s' if n != 1 else ''}"
        elif t["kind"] == "exercise":
            what = _exercise_text(t["exercise"])
        elif t["kind"] == "run":
            what = _run_text(t)
        else:
            what = _steps_text(t)
        print(f"  {t['task']}: {what}, {_score_text(t)}")
        turns = _turns_text(t) if t["kind"] == "steps" else None
        if turns:
            print(f"    turns: {turns}")
    from sacrum.scoring.score import format_score

    session = ("no score" if summ["score"] is None
               else f"score {format_score(summ['score'], summ.get('score_interval'))}")
    print(f"  session: {session}")
    print(f"  angles relative to {ANGLE_REFERENCES[summ['angle_reference']]}")
    if args.json:
        print(f"wrote {args.json}")
    return 0


def add_parser(subparsers) -> None:
    """Register ``sacrum analyze`` (cli.build_parser calls this)."""
    s = subparsers.add_parser(
        "analyze", help="pelvic metrics per step and the pelvic control score, as JSON")
    s.add_argument("input", help="a capture (.sacrum) or an IMU CSV with t (s), ax ay az "
                                 "(m/s²), gx gy gz (rad/s) in the sensor frame")
    s.add_argument("--task", help="analyse the whole recording as this task (e.g. walk, run, "
                                  "bridge, plank: docs/exercises.md); default: the capture's "
                                  "task marks, else the walking found")
    s.add_argument("--mount", help='sensor axes in body terms, e.g. "x=up,y=left,z=back" or '
                                   '"recommended"; default: estimated from the recording')
    s.add_argument("--bands", metavar="FILE",
                   help="TOML with a clinic's own bands, laid over the packaged ones "
                        "(docs/scoring.md)")
    s.add_argument("--json", metavar="OUT",
                   help="also write the analysis here (fields: docs/analysis-json.md); "
                        "without it the summary is printed only")
    s.add_argument("--no-unit-check", action="store_true",
                   help="skip the g / °/s check of a CSV")
    s.set_defaults(func=cmd_analyze)


__all__ = ["add_parser", "cmd_analyze"]

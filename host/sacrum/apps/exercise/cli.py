"""``sacrum exercise PROGRAMME.toml``: the guided exercise session (docs/exercises.md,
"Guided session").

The transport is the live view's (:func:`sacrum.apps.connect.open_transport`); with
``--simulate`` the simulated sensor streams a person following the programme
(:mod:`sacrum.apps.exercise.simulate`). The session is always recorded (into ``--record``,
or a temporary capture when only the summary or ``--json`` is wanted), so its end is the
analysis of the capture it wrote: per set the live count beside ``sacrum analyze``'s.
Qt is imported only when a window opens.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import tempfile
from pathlib import Path

from sacrum.apps.exercise.programme import load_programme
from sacrum.apps.exercise.session import ExerciseSession

SIM_RATE_HZ = 100


def make_session(programme, kind: str, target: str | None, *, mount: str | None,
                 speed: float | None, record: str | Path, seed: int = 0) -> ExerciseSession:
    """The session on ``open_transport(kind, target)``; ``kind`` "simulate": the
    programme's phantom streamed by the simulated sensor."""
    from sacrum.apps.connect import open_transport

    options: dict = {}
    if kind == "replay":
        options["speed"] = speed
    elif kind == "simulate":
        from sacrum.apps.exercise.simulate import ProgrammeSource, programme_phantom

        src = ProgrammeSource(programme_phantom(programme, mount=mount or "recommended",
                                                seed=seed,
                                                rate_hz=SIM_RATE_HZ))
        options.update(speed=speed, source=src, rate_hz=src.rate_hz,
                       duration_s=src.duration_s)
    return ExerciseSession(programme, lambda: open_transport(kind, target, **options),
                           mount=mount, record_to=record)


def summary_lines(doc: dict) -> list[str]:
    """The session's summary, one set a line: live count, the analysis' count, cues."""
    lines = [f"programme: {doc['programme']['name'] or doc['programme']['path']} "
             f"({len(doc['sets'])} of {doc['programme']['blocks']} sets done)"]
    for s in doc["sets"]:
        f = s["final"]
        if s["target_hold_s"] is not None:
            live = "–" if s["hold_s"] is None else f"{s['hold_s']:.1f} s"
            off = ("–" if not f.get("found") or f["hold_s"] is None
                   else f"{f['hold_s']:.1f} s")
            what = f"hold {live} of {s['target_hold_s']:g} s (analysis {off})"
        else:
            off = f["n_repetitions"] if f.get("found") else "–"
            what = (f"{s['n_repetitions']} of {s['target_repetitions']} repetitions"
                    f" (+{s['n_partial']} partial; analysis {off})")
        vals = [v for v, p in zip(s["repetition_metric_deg"], s["repetition_partial"],
                                  strict=True) if not p and math.isfinite(v)]
        med = f", median {sorted(vals)[len(vals) // 2]:.1f}°" if vals else ""
        lines.append(f"  {s['label']}, set {s['set_number']}/{s['n_sets']}: {what}, "
                     f"{s['cues']} cue{'s' if s['cues'] != 1 else ''}{med}"
                     + ("" if s["completed"] else " (not completed)"))
    if doc["capture"]:
        lines.append(f"capture:   {doc['capture']}")
    return lines


def cmd_exercise(args: argparse.Namespace) -> int:
    from sacrum.analysis import write_json
    from sacrum.apps.live.cli import display_available, source_of

    programme = load_programme(args.programme)
    if args.quick:
        programme = programme.quick()
    kind, target = source_of(args)
    if kind == "replay" and not Path(target).exists():
        raise FileNotFoundError(2, "No such file or directory", target)
    if args.record and not Path(args.record).parent.is_dir():
        raise FileNotFoundError(2, "No such directory", str(Path(args.record).parent))
    gui, reason = display_available(args.gui, args.headless)
    with tempfile.TemporaryDirectory(prefix="sacrum-exercise-") as tmp:
        record = Path(args.record) if args.record else Path(tmp) / "session.sacrum"
        speed = None if not gui else args.speed
        session = make_session(programme, kind, target, mount=args.mount, speed=speed,
                               record=record, seed=args.seed)
        if gui:
            from sacrum.apps.exercise.view import run_window

            run_window(session, audio=not args.no_sound,
                       title=f"sacrum exercise — {programme.name or args.programme}")
        else:
            print(f"no display ({reason}): running headless")
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: what came is analysed
                session.run_sync()
        session.converge()  # a window closed or Ctrl-C mid-set: the set ends there
        session.stop_recording()
        if session.state() is None:
            link = session.link
            raise ValueError(f"no samples came from the {kind} source"
                             + (f" ({link.message})" if link.message else "")
                             + ": nothing to follow the programme on")
        doc = session.final(record)
        if not args.record:
            doc["capture"] = None  # a temporary file, gone with this command
        print("\n".join(summary_lines(doc)))
        if args.json:
            write_json(doc, args.json)
            print(f"session:   {args.json}")
    return 0


def add_parser(sub) -> None:
    from sacrum.apps.live.cli import add_source_options

    s = sub.add_parser("exercise", help="a guided exercise session from a programme file",
                       description="A guided exercise session (docs/exercises.md, 'Guided "
                                   "session'): the programme's exercises, sets, repetitions "
                                   "or holds and rests, counted live with a cue when the "
                                   "pelvis moves past the exercise's threshold; the sets "
                                   "are recorded as tasks.")
    s.add_argument("programme", metavar="PROGRAMME.toml", help="the programme (TOML)")
    add_source_options(s, "a simulated sensor on a person following the programme")
    s.add_argument("--mount", default=None,
                   help='sensor axes on the body, e.g. "x=up,y=left,z=back" (default: '
                        "recommended; lying exercises give no walking to find it from); "
                        "written into the recording")
    s.add_argument("--record", metavar="OUT", help="record the session into this capture")
    s.add_argument("--json", metavar="OUT", help="write the session document: per set the "
                   "live and the analysis' counts, and the analysis of the capture")
    s.add_argument("--quick", action="store_true",
                   help="try the programme quickly: one set of each, at most 3 repetitions, "
                        "holds of at most 10 s, rests of 5 s")
    s.add_argument("--speed", type=float, default=1.0,
                   help="window: replay and simulator speed (1 = real time; headless runs "
                        "as fast as it can)")
    s.add_argument("--seed", type=int, default=0, help="--simulate: the phantom's seed")
    s.add_argument("--no-sound", action="store_true", help="visual cues only")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--headless", action="store_true",
                   help="no window: run through and print the summary")
    g.add_argument("--gui", action="store_true", help="open the window even if no display "
                                                      "is detected")
    s.set_defaults(func=cmd_exercise)


__all__ = ["add_parser", "cmd_exercise", "make_session", "summary_lines"]

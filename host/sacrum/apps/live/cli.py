"""``sacrum live``: the live window on a transport (or its headless fallback).

Qt is imported only when a window opens, so registering the command costs nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sacrum.apps.live.session import LiveSession, capture_annotations


def display_available(gui: bool = False, headless: bool = False) -> tuple[bool, str]:
    """Whether a window can open, and why not: ``--gui``/``--headless`` decide if given;
    QT_QPA_PLATFORM=offscreen/minimal means headless; on Linux (and other X11 systems) a
    display needs DISPLAY or WAYLAND_DISPLAY; macOS and Windows always have one."""
    if headless:
        return False, "--headless"
    if gui:
        return True, "--gui"
    qpa = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if qpa in ("offscreen", "minimal"):
        return False, f"QT_QPA_PLATFORM={qpa}"
    if sys.platform in ("darwin", "win32") or qpa:
        return True, "platform display"
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return True, "DISPLAY/WAYLAND_DISPLAY"
    return False, "no DISPLAY or WAYLAND_DISPLAY"


def make_session(kind: str, target: str | None, *, speed: float | None = 1.0,
                 mount: str | None = None, threshold_deg: float | None = None,
                 record: str | None = None, history_s: float = 120.0,
                 overlay_strides: int = 12, duration_s: float | None = None,
                 cue_every: int = 1) -> LiveSession:
    """A session on ``open_transport(kind, target)``; a replay also replays its capture's
    task and mark records. ``cue_every``: running cues at most once every N steps."""
    from sacrum.apps.connect import open_transport

    options: dict = {"speed": speed} if kind in ("replay", "simulate") else {}
    if kind == "simulate" and duration_s is not None:
        options["duration_s"] = duration_s  # the simulator loops forever otherwise
    script = capture_annotations(target) if kind == "replay" and target else []
    return LiveSession(lambda: open_transport(kind, target, **options), mount=mount,
                       threshold_deg=threshold_deg, record_to=record, script=script,
                       history_s=history_s, overlay_strides=overlay_strides,
                       final_capture=target if kind == "replay" else None,
                       cue_every=cue_every)


def run_window(session: LiveSession, *, athlete: bool = False, span_s: float = 10.0,
               audio: bool = True, title: str = "sacrum live",
               cadence_target_spm: float | None = None) -> int:
    """Open the window on ``session`` and run Qt until it is closed."""
    import pyqtgraph as pg
    from PySide6 import QtWidgets

    from sacrum.apps.live.window import LiveWindow

    pg.setConfigOptions(antialias=False)  # software rendering at 200 Hz input: frame rate first
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    win = LiveWindow(session, athlete=athlete, span_s=span_s, audio=audio, title=title,
                     cadence_target_spm=cadence_target_spm)
    win.show()
    app.exec()
    session.stop()
    return 0


def run_headless(session: LiveSession, out_dir: str | Path,
                 json_out: str | Path | None = None, *, athlete: bool = False,
                 cadence_target_spm: float | None = None) -> int:
    """Run ``session`` without a window; print its summary, write its figures and, with
    ``json_out``, the end-of-session analysis document (that of ``sacrum analyze``)."""
    from sacrum.analysis import write_json
    from sacrum.apps.live.headless import run_headless as run

    res = run(session, out_dir, athlete=athlete, cadence_target_spm=cadence_target_spm)
    print("\n".join(res.lines))
    print("figures:   " + ", ".join(str(p) for p in res.figures))
    if json_out is not None:
        if session.final_analysis is None:
            raise ValueError("no end-of-session analysis to write: --json needs a replayed "
                             "capture or --record (the analysis is that of the capture)")
        write_json(session.final_analysis, json_out)
        print(f"analysis:  {json_out}")
    return 0


def add_source_options(parser: argparse.ArgumentParser, simulate_help: str) -> None:
    """The one required source: --replay CAPTURE | --serial [PORT] | --ble [NAME] |
    --simulate (read back by :func:`source_of`)."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--replay", metavar="CAPTURE", help="replay a capture as if live")
    src.add_argument("--serial", nargs="?", const="", metavar="PORT",
                     help="USB serial (default: the first sacrum found)")
    src.add_argument("--ble", nargs="?", const="", metavar="NAME|ADDRESS",
                     help="Bluetooth LE (default: the first sacrum found)")
    src.add_argument("--simulate", action="store_true", help=simulate_help)


def source_of(args: argparse.Namespace) -> tuple[str, str | None]:
    """(kind, target) of the --replay / --serial / --ble / simulated source the options name
    (``sacrum live`` and ``sacrum exercise`` take the same ones)."""
    if args.replay:
        return "replay", args.replay
    if args.serial is not None:
        return "serial", args.serial or None
    if args.ble is not None:
        return "ble", args.ble or None
    return "simulate", None


def cmd_live(args: argparse.Namespace) -> int:
    kind, target = source_of(args)
    if args.cue_every < 1:
        raise ValueError(f"--cue-every must be 1 or more steps, not {args.cue_every}")
    if args.cadence_target is not None and not args.cadence_target > 0:
        raise ValueError(f"--cadence-target must be a positive number of steps/min, not "
                         f"{args.cadence_target:g}")
    if kind == "replay" and not Path(target).exists():
        raise FileNotFoundError(2, "No such file or directory", target)
    gui, reason = display_available(args.gui, args.headless)
    if not gui:
        print(f"no display ({reason}): running headless; figures go to {args.out_dir}/")
        # a replay without a window needs no pacing; a live link runs until Ctrl-C
        session = make_session(kind, target, speed=None, mount=args.mount,
                               threshold_deg=args.threshold_deg, record=args.record,
                               history_s=3600.0, overlay_strides=400,
                               duration_s=args.duration or 60.0, cue_every=args.cue_every)
        return run_headless(session, args.out_dir, getattr(args, "json", None),
                            athlete=args.athlete, cadence_target_spm=args.cadence_target)
    session = make_session(kind, target, speed=args.speed, mount=args.mount,
                           threshold_deg=args.threshold_deg, record=args.record,
                           duration_s=args.duration, cue_every=args.cue_every)
    return run_window(session, athlete=args.athlete, span_s=args.span, audio=not args.no_sound,
                      title=f"sacrum live — {kind}" + (f" {target}" if target else ""),
                      cadence_target_spm=args.cadence_target)


def add_display_options(s: argparse.ArgumentParser, out_dir: str) -> None:
    g = s.add_mutually_exclusive_group()
    g.add_argument("--headless", action="store_true",
                   help="no window: run through, write PNG figures and print the summary")
    g.add_argument("--gui", action="store_true", help="open the window even if no display "
                                                      "is detected")
    s.add_argument("--out-dir", default=out_dir,
                   help=f"where the headless run writes its figures (default {out_dir})")


def add_parser(sub) -> None:
    s = sub.add_parser("live", help="live view of pelvic angles, steps, score and biofeedback",
                       description="The live window (docs/live.md) on a sensor, a capture or "
                                   "the simulator.")
    add_source_options(s, "the built-in walking simulator")
    s.add_argument("--speed", type=float, default=1.0, help="replay speed (1 = real time)")
    s.add_argument("--duration", type=float, default=None, metavar="S",
                   help="--simulate: seconds of walking to simulate (headless default 60; "
                        "the window's simulator runs until closed)")
    s.add_argument("--athlete", action="store_true", help="start in athlete mode (headless: "
                   "the running lines and the rate warning always in the summary)")
    s.add_argument("--threshold-deg", "--drop-threshold", type=float, default=None,
                   metavar="DEG", dest="threshold_deg",
                   help="cue when the contralateral drop exceeds this (deg; walking and "
                        "running steps; default: each band's normal edge, walking 7°, "
                        "running 5.6°)")
    s.add_argument("--cue-every", type=int, default=1, metavar="N",
                   help="running: cue at most once every N running steps (default 1: every "
                        "step over the threshold)")
    s.add_argument("--cadence-target", type=float, default=None, metavar="SPM",
                   help="running: a metronome beeping at this cadence (steps/min); the "
                        "athlete view shows the actual cadence against it")
    s.add_argument("--record", metavar="OUT", help="record the session into this capture")
    s.add_argument("--json", metavar="OUT", help="headless: write the end-of-session analysis "
                   "(the document of `sacrum analyze` on the replayed or recorded capture)")
    s.add_argument("--mount", default=None,
                   help='sensor axes on the body, e.g. "x=up,y=left,z=back" or "recommended" '
                        "(default: estimated from the walking, as `sacrum analyze` does; the "
                        "recommended mounting until then)")
    s.add_argument("--span", type=float, default=10.0, help="seconds of traces shown")
    s.add_argument("--no-sound", action="store_true", help="visual cues only")
    add_display_options(s, "sacrum-live")
    s.set_defaults(func=cmd_live)

"""Where a guided exercise session's live CPU goes (issue 16 item 5).

Runs ``sacrum exercise examples/programme.toml --simulate --headless --quick`` (about 5
minutes of data, streamed as fast as the session takes it: a bounded replay) and times,
with a CPU timer (the thread's, ``time.thread_time``) around each stage's ``update``
(this script wraps them; nothing in the package is changed), the live work per chunk: the whole
chunk (``LiveSession.handle``), inside it the walking parts a guided session does not use
(the gait event detector with its turn detector, the progression heading, the running
stage ``RunningFeed``; ``sacrum exercise`` makes its session with ``walking=False``, so
they do not run: 0 here), and the guided session itself (segmenters, cues). Prints seconds
and the share of the chunk work, the process CPU time, and the data's duration, so the
share of one core a real-time session needs is CPU / duration.

    .venv/bin/python bench/exercise_session_cpu.py [--window SECONDS] [--with-walking]

``--with-walking``: the session as it was before ``walking=False`` (this script makes every
``LiveSession`` with ``walking=True``), for the comparison.

``--window S``: also the window (Qt offscreen), in real time for S seconds: the process CPU
over S is the share of one core the whole guided session (simulated sensor, live work,
drawing at 20 frames a second) takes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


_IN_CHUNK = [0]  # inside LiveSession.handle (the stages count only there, not in the
#                 final analysis, which runs the gait detector offline)


def _timed(cls, name: str, totals: dict, key: str) -> None:
    """Wrap ``cls.name`` to add its thread CPU time to ``totals[key]`` (a stage: only
    inside a chunk's ``LiveSession.handle``)."""
    inner = getattr(cls, name)
    outer = key == "chunk"

    def wrapper(self, *a, **k):
        if not outer and not _IN_CHUNK[0]:
            return inner(self, *a, **k)
        t0 = time.thread_time()
        _IN_CHUNK[0] += outer
        try:
            return inner(self, *a, **k)
        finally:
            _IN_CHUNK[0] -= outer
            totals[key] += time.thread_time() - t0

    setattr(cls, name, wrapper)


def _window(seconds: float) -> float:
    """Process CPU (s) of the guided window on the simulated programme, ``seconds`` of real
    time (Qt offscreen)."""
    import os
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtWidgets

    from sacrum.apps.exercise.cli import make_session
    from sacrum.apps.exercise.programme import load_programme
    from sacrum.apps.exercise.view import ExerciseWindow

    prog = load_programme(ROOT / "examples" / "programme.toml").quick()
    with tempfile.TemporaryDirectory() as tmp:
        session = make_session(prog, "simulate", None, mount=None, speed=1.0,
                               record=Path(tmp) / "session.sacrum")
        app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
        win = ExerciseWindow(session, audio=False)
        win.show()
        QtCore.QTimer.singleShot(round(seconds * 1000), win.close)
        cpu0 = time.process_time()
        session.start()
        app.exec()
        session.stop()
        return time.process_time() - cpu0


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--window", type=float, metavar="SECONDS",
                    help="also the window in real time for this long")
    ap.add_argument("--with-walking", action="store_true",
                    help="run the walking parts live too (the session before walking=False)")
    args = ap.parse_args(argv)
    from sacrum.apps.cli import main as cli
    from sacrum.apps.exercise.guided import GuidedSession
    from sacrum.apps.live.running import RunningFeed
    from sacrum.apps.live.session import LiveSession
    from sacrum.signal.gait.detector import GaitEventDetector
    from sacrum.signal.heading import ProgressionHeading

    if args.with_walking:
        init = LiveSession.__init__

        def with_walking(self, *a, **k):
            init(self, *a, **{**k, "walking": True})

        LiveSession.__init__ = with_walking
    totals = dict.fromkeys(("chunk", "gait", "heading", "running", "guided"), 0.0)
    _timed(LiveSession, "handle", totals, "chunk")
    _timed(GaitEventDetector, "update", totals, "gait")
    _timed(ProgressionHeading, "update", totals, "heading")
    _timed(RunningFeed, "update", totals, "running")
    _timed(GuidedSession, "update", totals, "guided")
    from sacrum.analysis import load

    with tempfile.TemporaryDirectory() as tmp:
        cap = Path(tmp) / "session.sacrum"
        cpu0 = time.process_time()
        code = cli(["exercise", str(ROOT / "examples" / "programme.toml"), "--simulate",
                    "--headless", "--quick", "--record", str(cap)])
        cpu = time.process_time() - cpu0
        duration = float(load(cap).t_s[-1])
    out = sys.stdout
    c = totals["chunk"]
    out.write(f"\ndata {duration:.0f} s; process CPU {cpu:.1f} s (live and the final "
              f"analysis); live chunk work {c:.1f} s = {100 * c / duration:.1f} % of one "
              "core in real time (headless: no window drawing)\n")
    walking = totals["gait"] + totals["heading"] + totals["running"]
    for k in ("gait", "heading", "running", "guided"):
        out.write(f"  {k:8s} {totals[k]:6.2f} s  {100 * totals[k] / c:5.1f} % of the chunk "
                  "work\n")
    how = ("run: --with-walking" if args.with_walking
           else "not run: LiveSession(walking=False)")
    out.write(f"  walking parts (gait + heading + running) {walking:.2f} s = "
              f"{100 * walking / c:.1f} % ({how})\n")
    if args.window:
        cpu = _window(args.window)
        out.write(f"window, {args.window:.0f} s in real time: process CPU {cpu:.1f} s = "
                  f"{100 * cpu / args.window:.1f} % of one core\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())

"""Live view: latency from a packet arriving at the transport to the frame that shows it,
frame rate, at 200 Hz input; memory over a one-hour replay at full speed.

Goals (issue 6): median latency < 30 ms, p99 < 60 ms, >= 30 frames/s, memory flat.

The input is the pelvis-motion phantom (sacrum.testing.walking_phantom.walking_phantom, 4°/9°
drops) at
200 Hz, written through the generator and codec into a BLE capture (11 samples per
notification) and replayed by the replay transport: in real time for the latency part,
as fast as possible for the memory part. The window is the real LiveWindow, offscreen
(software rendering), 1400×860; the session runs in its own thread as in `sacrum live`.

Latency: ``perf_counter_ns`` when the engine takes the packet from the transport, to the
paint event of the trace view that follows the frame which took the snapshot holding it.

    .venv/bin/python bench/live_latency.py [--seconds 30] [--hours 1]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from PySide6 import QtCore, QtWidgets

from live_helpers import phantom_capture
from sacrum.apps.live.cli import make_session
from sacrum.apps.live.window import LiveWindow
from sacrum.signal.angles import quat_from_angles
from sacrum.signal.mounting import parse_mount
from sacrum.signal.quaternion import quat_multiply
from sacrum.testing.generator import make_capture
from sacrum.testing.walking_phantom import walking_phantom

RATE_HZ = 200


def _run_window(app, session, seconds: float) -> LiveWindow:
    win = LiveWindow(session, audio=False, fps=50)
    win.show()
    QtCore.QTimer.singleShot(round(seconds * 1000), app.quit)
    app.exec()
    return win


def latency(app, tmp: Path, seconds: float) -> None:
    cap = tmp / "walk200.sacrum"
    n_steps = max(20, int(seconds / 0.55) + 10)
    phantom_capture(cap, n_steps=n_steps, rate_hz=RATE_HZ)
    session = make_session("replay", str(cap), speed=1.0)
    t0 = time.perf_counter()
    win = _run_window(app, session, seconds)
    wall = time.perf_counter() - t0
    session.stop()
    lat = np.array(win.latencies_ns) * 1e-6
    frames = np.array(win.frame_times)
    fps = (len(frames) - 1) / (frames[-1] - frames[0]) if len(frames) > 1 else 0.0
    snap = session.snapshot()
    print(f"latency at {RATE_HZ} Hz input ({snap.link.loss.packets_received:,} packets over "
          f"{wall:.1f} s, {snap.steps_total} steps):")
    print(f"  packet -> painted frame: median {np.median(lat):.1f} ms, "
          f"p99 {np.percentile(lat, 99):.1f} ms, max {lat.max():.1f} ms (n = {len(lat)})")
    print(f"  frame rate: {fps:.1f} frames/s (timer at 50/s)")


def hour_capture(path: Path, hours: float) -> int:
    """The phantom (stand 3 s, 100 steps, stand 2 s) repeated end to end for ``hours``."""
    ph = walking_phantom(rate_hz=RATE_HZ, n_steps=100, seed=1)
    a = ph["angles"]
    q = quat_multiply(quat_from_angles(a[:, 0], a[:, 1], a[:, 2] + math.radians(30.0)),
                      parse_mount("recommended"))
    reps = math.ceil(hours * 3600 * RATE_HZ / len(q))
    make_capture(path, np.tile(q, (reps, 1)), np.tile(ph["acc"], (reps, 1)),
                 np.tile(ph["gyr"], (reps, 1)), RATE_HZ, seed=1)
    return reps * len(q)


def memory(app, tmp: Path, hours: float) -> None:
    cap = tmp / "hour.sacrum"
    t0 = time.perf_counter()
    n = hour_capture(cap, hours)
    print(f"memory over {n / RATE_HZ / 3600:.2f} h at {RATE_HZ} Hz ({n:,} samples; capture "
          f"made in {time.perf_counter() - t0:.0f} s), replayed at full speed into the window:")
    proc = psutil.Process()
    session = make_session("replay", str(cap), speed=None)
    win = LiveWindow(session, audio=False, fps=50)
    rows = []
    t_start = time.perf_counter()

    def sample():
        snap = session.snapshot(0.0)
        t = snap.t_now_s if math.isfinite(snap.t_now_s) else 0.0
        rows.append((time.perf_counter() - t_start, t, proc.memory_info().rss / 1e6))
        if snap.link.state in ("ended", "error"):
            app.quit()

    timer = QtCore.QTimer()
    timer.timeout.connect(sample)
    timer.start(2000)
    win.show()
    app.exec()
    session.stop()
    wall = time.perf_counter() - t_start
    print(f"  {wall:.0f} s wall ({n / RATE_HZ / wall:.0f}× real time), "
          f"{len(win.frame_times)} frames kept in the fps window")
    marks = [0.1, 0.25, 0.5, 0.75, 1.0]
    total_s = n / RATE_HZ
    for m in marks:
        row = next((r for r in rows if r[1] >= m * total_s - 1), rows[-1])
        print(f"  session time {row[1] / 60:6.1f} min: RSS {row[2]:7.1f} MB")
    # the scorer keeps the last 10 min of samples (LiveSession: keep_s): flat after that
    full_s = min(0.25 * total_s, 15 * 60.0)
    first = next((r for r in rows if r[1] >= full_s), rows[0])
    growth = (rows[-1][2] - first[2]) / max(1e-9, (rows[-1][1] - first[1]) / 3600)
    print(f"  growth from {first[1] / 60:.0f} min on (the buffers full): {growth:.1f} MB per "
          f"hour of session (keeping every sample would be "
          f"{56 * RATE_HZ * 3600 / 1e6:.0f} MB/h)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="latency run length (s)")
    ap.add_argument("--hours", type=float, default=1.0, help="memory run length (h; 0: skip)")
    args = ap.parse_args()
    app = QtWidgets.QApplication([])
    with tempfile.TemporaryDirectory() as d:
        latency(app, Path(d), args.seconds)
        if args.hours > 0:
            memory(app, Path(d), args.hours)


if __name__ == "__main__":
    main()

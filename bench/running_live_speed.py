"""Cost of the live running stage (sacrum.scoring.running.LiveRunning) per BLE-sized chunk,
beside the walking LiveScorer on the same chunks (a 36-s running phantom at 200 Hz, 8 samples
a chunk).

    .venv/bin/python bench/running_live_speed.py
"""

from __future__ import annotations

import time

from sacrum.scoring.livescore import LiveScorer
from sacrum.scoring.running import LiveRunning
from sacrum.signal.angles import PelvicAngles
from sacrum.testing.running_phantom import running_phantom


def main(k: int = 8) -> None:
    p = running_phantom(seed=5)
    pa = PelvicAngles(p["mount"], 200.0)
    pa.calibrate(p["q"][:400])
    ang = pa.update(p["q"])
    n = len(p["t"])
    cost = {}
    for name, proc, feed in (
            ("LiveRunning", LiveRunning(200.0, p["mount"]),
             lambda pr, s: pr.update(p["t"][s], p["acc"][s], p["q"][s], ang[s])),
            ("LiveScorer", LiveScorer(200.0, p["mount"]),
             lambda pr, s: pr.update(p["t"][s], p["acc"][s], p["gyr"][s], p["q"][s]))):
        t0 = time.perf_counter()
        for i in range(0, n, k):
            feed(proc, slice(i, i + k))
        cost[name] = (time.perf_counter() - t0) / (n // k)
    print(f"{n / 200:.0f} s at 200 Hz in chunks of {k}: " + ", ".join(
        f"{name} {1e6 * c:.0f} µs/chunk" for name, c in cost.items()))


if __name__ == "__main__":
    main()

"""Live running drops against the final (offline) ones: a running phantom written as a capture
(the generator's BLE model), replayed through the live session as `sacrum live --replay
CAPTURE --mount recommended` runs it; each live running step's drop against the same step of
`sacrum analyze CAPTURE`, at 200 and 100 Hz.

    .venv/bin/python bench/running_live_vs_final.py
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np

import sacrum
from sacrum.apps.live.cli import make_session
from sacrum.testing.generator import LinkModel, make_capture
from sacrum.testing.running_phantom import running_phantom


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        for rate in (200, 100):
            p = running_phantom(rate_hz=rate, seed=31,
                                segments=(("walk", 6), ("run", 40), ("walk", 6)))
            cap = Path(d) / f"run{rate}.sacrum"
            make_capture(cap, p["q"], p["acc"], p["gyr"], rate, link=LinkModel(mtu=247), seed=2)
            s = make_session("replay", str(cap), speed=None, history_s=3600.0,
                             mount="recommended")
            s.run_sync()
            live = s.running_stage.state()
            off = sacrum.analyze(cap).running_steps
            lt = np.array([t for t, *_ in live.steps])
            shift = off["t_ic_s"].iloc[0] - lt[0]       # session clock vs capture clock
            diff = []
            for t, dr in zip(off["t_ic_s"], off["contralateral_drop_deg"], strict=True):
                k = int(np.argmin(np.abs(lt + shift - t)))
                if abs(lt[k] + shift - t) < 0.01 and math.isfinite(dr):
                    diff.append(abs(live.steps[k][2] - dr))
            print(f"{rate} Hz: {len(diff)} of {len(off)} running steps matched; |live - final| "
                  f"drop median {np.median(diff):.2f}°, max {np.max(diff):.2f}°; "
                  f"rate warning: {'yes' if not live.rate_ok else 'no'}")


if __name__ == "__main__":
    main()

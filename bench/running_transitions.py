"""Walk <-> run transitions on mixed phantoms (issue 17 item 1): how far each bout's start is
from the phantom's transition, per-step label errors, and the live running drops against the
offline ones. Seeds 100-119 (the tests use 31-34 and 41-44; nothing is tuned on either).

    .venv/bin/python bench/running_transitions.py [N_SEEDS]
"""

from __future__ import annotations

import sys

import numpy as np

from sacrum.signal.orientation import orientation_offline
from sacrum.signal.running import detect_running
from sacrum.testing.running_phantom import mixed_phantom


def main(n_seeds: int = 20) -> None:
    err = {"walk->run": [], "run->walk": []}
    wrong = total = 0
    bout_mismatch = 0
    for seed in range(100, 100 + n_seeds):
        p = mixed_phantom(seed)
        q = orientation_offline(p["acc"], p["gyr"], 200.0)
        steps, bouts = detect_running(p["t"], p["acc"], q, p["mount"], 200.0)
        for s in steps:
            k = int(np.argmin(np.abs(p["t_ic"] - s.t_ic_s)))
            wrong += s.mode != p["modes"][k]
            total += 1
        if [b.mode for b in bouts] != [m for m, *_ in p["segments"]]:
            bout_mismatch += 1
            continue
        for b, (t_a, a, m) in zip(bouts[1:], p["transitions"], strict=True):
            err[f"{a}->{m}"].append(b.t_start_s - t_a)
    print(f"{n_seeds} mixed phantoms (seeds 100-{99 + n_seeds}), 200 Hz: {total} steps, "
          f"{wrong} labelled wrong; {bout_mismatch} with other bouts than the segments")
    for k, v in err.items():
        v = 1000 * np.array(v)
        print(f"  {k}: {len(v)} transitions, bout start - truth: median {np.median(v):+.1f} ms, "
              f"range {v.min():+.1f} .. {v.max():+.1f} ms (one step: 280-430 ms running, "
              f"545 ms walking)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)

"""sacrum as a library: one recording loaded, analysed, and read as tables.

    python examples/library.py [CAPTURE_OR_IMU_CSV]

Without an argument it analyses the capture bundled with the package (137 s of a real
person's lower-back IMU, Mobilise-D HA001; examples/README.md). The numbers are the ones
``sacrum analyze`` prints for the same input: every command reads this one analysis.
"""

from __future__ import annotations

import json
import math
import sys

import sacrum
from sacrum.resources import demo_capture


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else demo_capture()
    recording = sacrum.load(path)  # a capture or an IMU CSV, SI units
    print(f"{recording.kind}: {len(recording.t_s)} samples at {recording.rate_hz:.0f} Hz, "
          f"{len(recording.marks)} task marks, {recording.loss['loss_fraction']:.2%} lost")

    analysis = sacrum.analyze(recording)  # or sacrum.analyze(path, task="walk", mount=...)
    steps = analysis.steps  # one row per step; "excluded" says why a step is not used
    used = steps[steps["excluded"].isna()]
    print(f"{len(steps)} steps, {len(used)} used; excluded: "
          f"{steps['excluded'].value_counts().to_dict()}")
    print("median contralateral drop per stance side (deg):")
    print(used.groupby("stance_side")["contralateral_drop_deg"].median().round(2).to_string())

    samples = analysis.samples  # one row per sample: angles in rad, flags
    walking = samples[samples["in_bout"] & ~samples["in_turn"]]
    p5, p95 = walking["obliquity_rad"].quantile([0.05, 0.95])
    print(f"{len(walking) / recording.rate_hz:.0f} s of straight walking; obliquity "
          f"5th-95th percentile range {math.degrees(p95 - p5):.1f}°")  # degrees at the edge
    print(f"{len(analysis.events)} gait events, {len(analysis.turns)} turns")
    print(analysis.tasks[["task", "n_steps_used", "score", "score_low", "score_high"]]
          .to_string(index=False))

    score = analysis.score
    if score.value is None:
        print(f"no score: {score.message}")
    else:
        low, high = score.interval or (score.value, score.value)
        print(f"session score {score.value:.0f} ({100 * score.level:.0f} % interval "
              f"{low:.0f}–{high:.0f})")
    doc = analysis.to_json()  # the document `sacrum analyze --json` writes
    print(f"document: format {doc['format']} v{doc['format_version']}, "
          f"{len(json.dumps(doc)) // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

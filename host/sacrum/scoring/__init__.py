"""Stage 3, motion to measures: per-step metrics and summaries, normative bands and the
pelvic-control score, the live scorer and the task models (walk, stairs, single-leg
stance, step-down). Reads ``sacrum.io`` and ``sacrum.signal``."""

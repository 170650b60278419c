"""What every task detector shares: the sides, the task kinds, the error for wrong
arguments, the result list with its messages, and the argument checks."""

from __future__ import annotations

import math

import numpy as np

SIDES = ("L", "R")
REPETITION_KINDS = ("step-down", "step-up")


class TaskInputError(ValueError):
    """The arguments cannot be analysed (wrong shapes, unknown side or kind); the message
    says what was expected."""


class Findings(list):
    """A list of results (segments or repetitions) with ``messages``: what was skipped or
    could not be found, in words ("no walking found in 12.0 s: no stairs to look for").
    It is a plain ``list`` otherwise; ``len()`` is the count."""

    def __init__(self, items=(), messages=()):
        super().__init__(items)
        self.messages: list[str] = list(messages)


def _side(side: str) -> str:
    if side not in SIDES:
        raise TaskInputError(f'side must be "L" or "R" (the stance leg), not {side!r}')
    return side


def _as_rows(x, n: int, cols: int, name: str) -> np.ndarray:
    a = np.asarray(x, float)
    if a.ndim == 1 and cols == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape != (n, cols):
        raise TaskInputError(f"{name} must have shape ({n}, {cols}) to match t_s, "
                             f"not {a.shape}")
    return a


def _rate_hz(t: np.ndarray) -> float:
    """Sample rate from the median interval (NaN when it cannot be told)."""
    d = np.diff(t[np.isfinite(t)])
    d = d[d > 0]
    return 1.0 / float(np.median(d)) if len(d) else math.nan

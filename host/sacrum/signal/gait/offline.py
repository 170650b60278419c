"""The gait stage offline: a whole recording's events, the events inside bouts, the CSV."""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path

import numpy as np

from sacrum.signal.gait.detector import GaitEventDetector
from sacrum.signal.gait.results import GaitBout, GaitEvent
from sacrum.signal.mounting import MountingError, estimate_mounting
from sacrum.signal.orientation import orientation_offline

log = logging.getLogger(__name__)


def detect_events(
    t_s: np.ndarray,
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    q_sensor_to_earth: np.ndarray | None = None,
    rate_hz: float | None = None,
    **params,
) -> tuple[list[GaitEvent], list[GaitBout]]:
    """Offline: gait events and bouts of a whole recording.

    Orientation, when not given, is ``orientation_offline``'s (lost samples stay NaN). The
    rate defaults to the median sample interval of ``t_s``. ``params`` go to
    ``GaitEventDetector``; without ``q_sensor_to_body`` the mounting is
    ``sacrum.signal.mounting.estimate_mounting``'s, as
    ``sacrum.signal.pipeline.analyze_recording`` estimates it, so that both find the same
    steps (the detector's own walking-direction estimate, ``WalkingDirection``, only where
    the mounting cannot be told from the recording).
    Returns (events in time order, bouts); the detector's strides and turns are lost here -
    use ``GaitEventDetector`` directly for them. Offline the end of each bout is known: the
    events are those of the bouts (``GaitBout.t_start_s`` to ``t_end_s``, each IC with the FC
    after it), without the ICs a real-time run returns after a bout's last forward step.
    """
    t = np.asarray(t_s, float)
    acc = np.asarray(acc_mps2, float)
    gyr = np.asarray(gyr_radps, float)
    if rate_hz is None:
        dt = np.diff(t[np.isfinite(t)])
        if len(dt) == 0 or not np.median(dt) > 0:
            raise ValueError("cannot tell the sample rate from t_s: pass rate_hz")
        rate_hz = 1.0 / float(np.median(dt))
    if q_sensor_to_earth is None:
        q_sensor_to_earth = orientation_offline(acc, gyr, rate_hz)
    if params.get("q_sensor_to_body") is None:
        try:
            params["q_sensor_to_body"] = estimate_mounting(
                q_sensor_to_earth, acc, gyr, rate_hz).q_sensor_to_body
        except MountingError as e:
            log.info("mounting not estimated (%s): the walking direction from the steps", e)
    det = GaitEventDetector(rate_hz, **params)
    live = det.update(t, acc, gyr, q_sensor_to_earth) + det.flush()
    return events_in_bouts(live, det.bouts), det.bouts


def events_in_bouts(events: list[GaitEvent], bouts: list[GaitBout]) -> list[GaitEvent]:
    """The events (as returned by ``GaitEventDetector``) that lie in their bout's span, an FC
    with the IC before it."""
    span = {b.index: (b.t_start_s, b.t_end_s) for b in bouts}
    out, keep = [], False
    for e in events:
        if e.kind == "IC":
            t0, t1 = span.get(e.bout, (math.inf, -math.inf))
            keep = t0 <= e.t_s <= t1
        if keep:
            out.append(e)
    return out


def write_events_csv(events: list[GaitEvent], path: str | Path) -> None:
    """Write events as CSV rows ``t,event,side`` (t in seconds, event IC|FC, side L|R)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "event", "side"])
        for e in sorted(events, key=lambda e: e.t_s):
            w.writerow([f"{e.t_s:.3f}", e.kind, e.side])

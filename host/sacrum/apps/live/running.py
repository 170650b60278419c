"""Running in the live view, without Qt: the running stage fed beside the walking scorer, the
cadence metronome and the final (offline) running values the view shows once the data end
(docs/live.md, docs/running.md).

The running steps, cues and rate check while the data come are
:class:`sacrum.scoring.running.LiveRunning`'s; :class:`RunningFeed` feeds it the live
pipeline's samples, this module turns them, or the final analysis document, into what is
shown, and keeps the metronome's beat.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from sacrum.scoring.running import SIDES, LiveRunning, LiveRunningState, RunningCue


class RunGate:
    """Where the session runs, known at the sample: the running detector's flight comparator
    (``RunningEventDetector`` step 2: the sacrum in free fall, the specific force below
    ``flight_g`` × g; walking never gets there: its lowest was 0.42-0.8 g in 37 real walks)
    on each sample as it comes. A sample is *running* from a flight until ``hold_s`` after
    the last flight (longer than a running step: 60 / 120 steps/min = 0.5 s, the
    detector's slowest running cadence), so the contacts between the flights count too.

    The detector's own walk/run labels come only once a step's bout is known (up to
    ``min_bout_steps`` steps later); the walking stage's steps and the live mounting
    estimate need the answer earlier: :meth:`update` says it for each sample of the chunk
    (the mounting estimator does not learn from running samples: it takes running for
    walking and reverses forward), :meth:`overlaps` for a span (no walking cue for a step
    that overlaps running: the running cue is the athlete's there). The magnitude of the
    accelerometer is used (no orientation needed, so it is known before the pipeline runs;
    the vertical specific force is never larger). A streaming processor (``update``,
    ``flush``, ``reset``), chunk-invariant: a causal per-sample rule.

    Parameters: ``rate_hz`` (Hz); ``flight_g`` = the detector's 0.3; ``hold_s`` = 0.6.
    """

    def __init__(self, rate_hz: float, *, flight_g: float | None = None,
                 hold_s: float = 0.6) -> None:
        from sacrum.signal.running import RunningEventDetector
        from sacrum.units import G_MPS2

        if flight_g is None:
            flight_g = RunningEventDetector(rate_hz, np.array([1.0, 0, 0, 0])).flight_g
        self.flight_mps2 = float(flight_g) * G_MPS2
        self.hold_s = float(hold_s)
        self.reset()

    def reset(self) -> None:
        self._t_flight = -math.inf   # the newest flight sample (s)
        self.spans: list[list[float]] = []  # [t_first_flight, t_last_flight + hold_s]

    def update(self, t_s: np.ndarray, acc_mps2: np.ndarray) -> np.ndarray:
        """Whether each sample of the chunk is running (bool, (N,))."""
        t = np.asarray(t_s, float).reshape(-1)
        with np.errstate(invalid="ignore"):
            flight = np.linalg.norm(np.asarray(acc_mps2, float).reshape(-1, 3),
                                    axis=1) < self.flight_mps2
        last = np.where(flight, t, -np.inf)
        last = np.maximum.accumulate(np.r_[self._t_flight, last])[1:]
        running = t - last <= self.hold_s
        for tf in t[flight]:
            if self.spans and tf <= self.spans[-1][1]:
                self.spans[-1][1] = tf + self.hold_s
            else:
                self.spans.append([float(tf), float(tf) + self.hold_s])
        if len(t):
            self._t_flight = float(last[-1])
        return running

    def flush(self) -> np.ndarray:
        """The end of the data: nothing is held back (every sample was answered)."""
        return np.zeros(0, bool)

    def overlaps(self, t0_s: float, t1_s: float) -> bool:
        """Whether [t0_s, t1_s] (s) overlaps running seen so far."""
        for a, b in reversed(self.spans):
            if b < t0_s:
                return False
            if a <= t1_s:
                return True
        return False


class RunningFeed:
    """The athlete's running stage beside the walking scorer: a
    :class:`~sacrum.scoring.running.LiveRunning` fed each chunk's accelerometer with the live
    pipeline's orientation, angles and mounting (``scorer``: the session's
    :class:`~sacrum.scoring.livescore.LiveScorer`), its cue threshold the one asked for or
    else the running drop band's normal edge, fed again when the scorer scores its kept
    samples again (the mounting found, the running's own mounting adopted, a walking zero:
    :meth:`refeed`), and its state as the snapshot shows it (the final analysis' running
    steps once the data end: :func:`final_running_state`).

    rate_hz (Hz); scorer; threshold_request (deg; None: the running band's normal edge);
    cue_every.
    """

    def __init__(self, rate_hz: float, scorer, threshold_request: float | None,
                 cue_every: int) -> None:
        self._scorer = scorer
        self.stage = LiveRunning(rate_hz, scorer.pipeline.angles.q_sensor_to_body,
                                 threshold_deg=self.threshold_for(threshold_request),
                                 cue_every=cue_every)

    def threshold_for(self, request: float | None) -> float:
        """The running cue threshold (deg): the one asked for, else the running drop band's
        normal edge (the larger side's: ``running_bands.toml``, Bramah et al. 2018)."""
        if request is not None:
            return float(request)
        from sacrum.apps.live.bars import drop_bands
        from sacrum.scoring.running import load_running_bands

        return float(max(b.normal_max for b in drop_bands(load_running_bands()).values()))

    def set_threshold(self, request: float | None) -> None:
        self.stage.threshold_deg = self.threshold_for(request)

    def update(self, t_s: np.ndarray, acc_mps2, u) -> None:
        """One chunk: the accelerometer (m/s²) and the scorer's update ``u`` of it. No cue
        while the scorer's mounting is still being estimated (its angles are in the
        provisional mounting's frame, as the walking scorer gives no cue then)."""
        n_cues = len(self.stage.cues)
        self.stage.update(t_s, acc_mps2, u.chunk.q_sensor_to_earth, u.chunk.angles_rad,
                          q_sensor_to_body=self._scorer.pipeline.angles.q_sensor_to_body)
        if self._scorer.mounting_pending:
            del self.stage.cues[n_cues:]

    def refeed(self) -> None:
        """The scorer scored its kept samples again (a new mounting, or zero): the running
        stage is made again on them (``scorer.kept()``), so its steps so far are in the
        frame the walking ones are; the steps before the kept samples and the cues given
        stay (a cue was given when it was given: none is given again)."""
        old = self.stage
        new = LiveRunning(old.rate_hz, self._scorer.pipeline.angles.q_sensor_to_body,
                          threshold_deg=math.inf, cue_every=old.cue_every,
                          cadence_steps=old.cadence_steps, rate_window_s=old.rate_window_s,
                          mount_contacts=old.mount_contacts,
                          mount_window_s=old.mount_window_s)
        new.running_mount = old.running_mount  # the check made stays made
        t, acc, q, angles = self._scorer.kept()
        if len(t):
            new.update(t, acc, q, angles)
        new.threshold_deg = old.threshold_deg
        t0 = float(t[0]) if len(t) else math.inf
        new.steps[:0] = [m for m in old.steps if m.t_ic_s < t0]
        new.cues = list(old.cues)
        self.stage = new

    def gap(self, t_s: np.ndarray) -> None:
        """Lost samples at ``t_s`` (NaN rows)."""
        m = len(t_s)
        nan3 = np.full((m, 3), np.nan)
        self.stage.update(t_s, nan3, np.full((m, 4), np.nan), nan3)

    def flush(self) -> None:
        self.stage.flush()

    def state(self, final_doc: dict[str, Any] | None) -> LiveRunningState:
        """What the snapshot shows: the live state, or the final analysis' (``final_doc``)."""
        return final_running_state(final_doc, self.stage.state())


class Metronome:
    """A beat at ``cadence_spm`` (steps per minute): one tick per step the runner should take.

    Driven by a clock given to it (``due(t_s)``: the window's timer passes its monotonic time,
    a test a simulated one), so it keeps the rate whatever the caller's timer resolution:
    tick k is due at ``t0 + k × 60 / cadence_spm``, ``due`` returns how many fell due since
    the last call (each one is a beep). After a stall longer than a beat (the window was
    busy) the missed ticks are not played in a burst: one tick, and the beat restarts from
    it (``skipped`` counts the rest). ``ticks``: the times of the ticks played (s, on the
    caller's clock; the last ``keep`` of them).
    """

    def __init__(self, cadence_spm: float, keep: int = 1000) -> None:
        if not (cadence_spm > 0 and math.isfinite(cadence_spm)):
            raise ValueError(f"the cadence target must be a positive number of steps/min, "
                             f"not {cadence_spm!r}")
        self.cadence_spm = float(cadence_spm)
        self.period_s = 60.0 / self.cadence_spm
        self.keep = int(keep)
        self.reset()

    def reset(self) -> None:
        """Stop: the next ``due`` starts the beat."""
        self._t0 = math.nan
        self._k = 0
        self.ticks: list[float] = []
        self.skipped = 0

    def due(self, t_s: float) -> int:
        """Ticks due at ``t_s`` (s) since the last call: 0, 1, or (at most) 1 after a stall."""
        if math.isnan(self._t0):
            self._t0, self._k = float(t_s), 0
        n = 0
        while self._t0 + self._k * self.period_s <= t_s:
            n += 1
            self._k += 1
        if n > 1:  # a stall: play one, restart the beat from now
            self.skipped += n - 1
            self._t0, self._k, n = float(t_s), 1, 1
        if n:
            self.ticks.append(float(t_s))
            del self.ticks[:-self.keep]
        return n


def final_running_state(doc: dict[str, Any] | None,
                        live: LiveRunningState | None) -> LiveRunningState | None:
    """The running values of the final analysis document (``running_steps[]`` and its run
    tasks), in place of the live ones once the data ended: the per-step drops, the per-side
    medians and the cadence of ``sacrum analyze`` on the same capture (one answer). The cues
    given and the rate check stay the live ones. None: no document or no running in it."""
    if doc is None or live is None:
        return live
    rows = doc.get("running_steps") or []
    runs = [t for t in (doc.get("summary") or {}).get("tasks", []) if t.get("kind") == "run"]
    if not rows and not runs:
        return live

    def num(v) -> float:
        return math.nan if v is None else float(v)

    steps = [(num(r["t_ic"]), r["stance_side"], num(r["contralateral_drop_deg"]),
              r.get("excluded")) for r in rows]
    last = {sd: next((d for _, s, d, ex in reversed(steps)
                      if s == sd and math.isfinite(d) and ex != "gap"), math.nan)
            for sd in SIDES}
    head = max(runs, key=lambda t: t.get("n_steps_used") or 0, default={})
    drop = head.get("contralateral_drop_deg") or {}
    return replace(live, steps=steps, last_drop_deg=last,
                   drop_deg={sd: num(drop.get(sd)) for sd in SIDES},
                   cadence_spm=num(head.get("cadence_spm")), final=True,
                   mount_message="")  # the final analysis finds the running's mounting


def rate_banner(state: LiveRunningState | None) -> str:
    """The plain warning the live view shows when the rate is too low for running metrics,
    or the live mounting is not the running's ("": none)."""
    if state is None:
        return ""
    why = [m for m in ("" if state.rate_ok else state.rate_message, state.mount_message) if m]
    return f"running metrics unreliable — {'; '.join(why)}" if why else ""


def running_lines(state: LiveRunningState | None, cadence_target_spm: float | None = None,
                  *, always: bool = False) -> list[str]:
    """The headless summary's running lines (deg, steps/min at this edge): nothing without
    running steps unless ``always`` (athlete mode), the rate warning whenever it applies."""
    if state is None:
        return []
    lines = []
    if always or state.steps:
        if not state.rate_ok:
            lines.append(f"RATE:      running metrics unreliable — {state.rate_message}")
        if state.mount_message:
            lines.append(f"MOUNT:     running metrics unreliable — {state.mount_message}")
    if not state.steps and not always:
        return lines

    def f(v: float, fmt: str) -> str:
        return format(v, fmt) if math.isfinite(v) else "–"

    used = sum(ex is None for *_, ex in state.steps)
    target = (f" (target {cadence_target_spm:.0f})" if cadence_target_spm else "")
    lines += [
        f"running:   {len(state.steps)} running steps ({used} used)"
        + ("; final: the offline analysis" if state.final else ""),
        f"run drop:  left stance {f(state.drop_deg['L'], '.1f')}°, right stance "
        f"{f(state.drop_deg['R'], '.1f')}° (median); last L {f(state.last_drop_deg['L'], '.1f')}°"
        f", R {f(state.last_drop_deg['R'], '.1f')}°",
        f"run cadence: {f(state.cadence_spm, '.0f')} steps/min{target}",
        f"run cues:  {len(state.cues)} steps over {state.threshold_deg:.1f}° "
        f"(at most one every {state.cue_every} step{'s' if state.cue_every > 1 else ''})",
    ]
    return lines


__all__ = ["Metronome", "RunGate", "RunningCue", "RunningFeed", "final_running_state",
           "rate_banner", "running_lines"]

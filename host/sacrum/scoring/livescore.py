"""Live scoring: the pipeline, per-step metrics, a rolling summary, the score and biofeedback cues.

The stage that sits on ``pipeline``, ``metrics`` and ``score`` for the live view and the
athlete's biofeedback (issue 5: "updated every stride ... within one stride of latency, and
offline on a whole session, with the same code"). :class:`LiveScorer` is one streaming
processor; an offline run is the same processor fed the whole recording and flushed.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import numpy as np

from sacrum.scoring.metrics import (
    SIDES,
    StepMetrics,
    StepMetricsStream,
    WalkSummary,
    body_acceleration,
    is_scored,
    summarize_walk,
)
from sacrum.scoring.score import Bands, TaskScore, load_bands, score_walk
from sacrum.signal.angles import CalibrationError
from sacrum.signal.gait import Turn
from sacrum.signal.pipeline import Pipeline, PipelineChunk

log = logging.getLogger(__name__)

_T_TOL_S = 1e-6  # as sacrum.scoring.metrics: two times closer than this are the same sample
#: Exclusion reasons a turn found later takes precedence over (metrics.EXCLUSION_REASONS order).
_BELOW_TURN = (None, "irregular", "bout-edge")
#: A cue also needs the heading settled this long after the step's stride (s; step 5).
_CUE_AFTER_S = 0.3


@dataclass
class LiveUpdate:
    """What one chunk (or ``flush``) produced.

    chunk: the pipeline's output for the chunk (orientation, angles, heading, gait events).
    steps: the :class:`~sacrum.scoring.metrics.StepMetrics` that became final in this chunk, in
        time order (each one stride after its IC plus the gait stage's event latency).
    cues: one flag per entry of ``steps``: ``contralateral_drop_deg > threshold_deg`` of
        its stance side, for a step the scorer counts (:meth:`LiveScorer.cue_allowed`; NaN
        drops never cue).
    summary: the rolling :class:`~sacrum.scoring.metrics.WalkSummary` over the last
        ``window_steps`` used steps (see :class:`LiveScorer`), None before the first step.
    score: :func:`sacrum.scoring.score.score_walk` of that summary with its steps (its ``score`` is
        None while there are too few steps or its interval is too wide, and its ``message``
        says why; ``score.interval``: its 90 % interval, computed live on every update from
        the window's steps, as :meth:`LiveScorer.session_score` does at the end for the
        whole session); None before the first step.
    updated: whether ``summary`` and ``score`` were recomputed in this chunk (new steps).
    message: the score's message, or why there is none yet.
    acc_body_mps2: the chunk's sacral acceleration in the progression frame (N, 3; m/s²,
        gravity removed; step 2), for consumers such as sacrum.scoring.livetask.
    rescored: the mounting estimate changed in this chunk and the kept samples were
        scored again with it (step 0): :attr:`LiveScorer.steps` was replaced, ``steps``
        holds only those newer than every step given out before (the others were given
        out already, with the mounting then in use).
    """

    chunk: PipelineChunk
    steps: list[StepMetrics]
    cues: list[bool]
    summary: WalkSummary | None
    score: TaskScore | None
    updated: bool
    message: str
    acc_body_mps2: np.ndarray | None = None
    rescored: bool = False


class _Samples:
    """Growing (N, k) float arrays with amortised O(1) appends (capacity doubles)."""

    def __init__(self, widths: dict[str, int]) -> None:
        self._widths = widths
        self.n = 0
        self._data = {k: np.empty((1024, w)) for k, w in widths.items()}

    def append(self, **rows: np.ndarray) -> None:
        m = len(next(iter(rows.values())))
        if self.n + m > len(self._data[next(iter(self._widths))]):
            cap = max(2 * (self.n + m), 1024)
            for k, a in self._data.items():
                new = np.empty((cap, a.shape[1]))
                new[:self.n] = a[:self.n]
                self._data[k] = new
        for k, v in rows.items():  # (the row width is known: an empty chunk has no -1 to infer)
            dst = self._data[k]
            dst[self.n:self.n + m] = np.asarray(v, float).reshape(m, dst.shape[1])
        self.n += m

    def get(self, key: str, lo: int = 0, hi: int | None = None) -> np.ndarray:
        hi = self.n if hi is None else hi
        return self._data[key][lo:hi]

    def keep_last(self, n_keep: int) -> bool:
        """Forget all but the last ``n_keep`` rows once there are 1.5 × as many (so the
        copy is amortised); whether rows were dropped."""
        if self.n <= 1.5 * n_keep:
            return False
        drop = self.n - n_keep
        for a in self._data.values():
            a[:n_keep] = a[drop:self.n]
        self.n = n_keep
        return True


class LiveScorer:
    """Pelvic angles, gait events, per-step metrics, a rolling summary and score, and a
    drop cue per step, from one sacral sensor, streaming.

    ``update(t_s, acc_mps2, gyr_radps, q_sensor_to_earth=None, *, learn_mask=None)``
    returns a :class:`LiveUpdate` for the chunk; ``flush()`` ends a recording (the steps
    still waiting for events that will not come); ``reset()`` starts over. Feeding a recording
    whole or in chunks of any size gives the same steps, summaries and scores (tested),
    with the caveat under "Live turns".

    **Data required.** As :class:`sacrum.signal.pipeline.Pipeline`: ``t_s`` (N,) s, increasing;
    ``acc_mps2`` (N, 3) specific force, gravity included, and ``gyr_radps`` (N, 3), in the
    sensor frame; optionally the device's ``q_sensor_to_earth`` (N, 4); NaN rows for lost
    samples; ``rate_hz`` constant; the mounting ``q_sensor_to_body``.

    **Steps**, per chunk:

    0. With ``estimate_mounting``: the mounting from the stream, as ``sacrum analyze``
       estimates it from the recording (:class:`~sacrum.signal.mounting.MountingEstimator`
       on the orientation and the raw samples, fed ``mount_check_s`` at a time, counted in
       samples from the first, so any chunking feeds it alike). Until an estimate has
       ``mount_confidence`` (its ``settled_confidence``: more walking would not move it) the
       given ``q_sensor_to_body`` is provisional; when an estimate is settled and differs
       from the mounting in use by more than ``mount_change_deg``, every kept sample is
       scored again with it (the pipeline, the zero and the steps
       start over on the same samples, one chunk: :attr:`LiveUpdate.rescored`), so the
       steps before the estimate are revised, not left in another frame. The estimator
       stops once it has ``enough_walking_s`` of walking at that confidence, as the
       offline estimate does; at :meth:`flush` it takes the samples left and, as the
       offline estimate, whatever estimate the whole recording gives. While no estimate is
       in use (:attr:`mounting_pending`) the angles and steps are in the provisional
       mounting's frame and the scorer gives no summary, score or cue (its message says
       why): a number in the wrong frame is not shown (on IPOL 3-1, 60° from the
       recommended mounting, it was 6° off). Two seams for a session that knows more
       than the walking (the live session's running, ``sacrum.apps.live.feed``):
       ``update(..., learn_mask=)``, a bool per sample of the chunk, the samples the
       estimator may learn from (the others reach it as lost samples, NaN rows; e.g.
       running, which the walking estimator takes for walking and reverses forward on);
       and :meth:`adopt_mounting`, a mounting decided elsewhere: the estimator stops, and
       when it is more than ``mount_change_deg`` from the one in use the kept samples are
       scored again with it at the next update (or :meth:`flush`), as for an estimate
       that moved. :meth:`kept` gives the kept samples as scored now, for a stage fed
       beside the scorer to be fed again after a re-scoring.
    1. The pipeline (orientation, standing calibration, progression heading, pelvic
       angles, gait events).
    1b. With ``walking_zero``: without a standing zero (none, or the sitting check's
       walking one), once the gait stage has 4 used strides spanning at least twice the
       standing calibration's samples, and again each time their number doubles, tilt and
       obliquity are zeroed on the mean posture over them (``Pipeline.calibrate_walking``,
       as ``analyze_recording`` zeroes on every used stride) and the kept samples are
       scored again from it (the pipeline's own calibration off up to the zero's last
       sample). With no zero at all (and the data not ended: :attr:`withheld`) no summary,
       score or cue.
    2. The sacrum's acceleration in the progression frame
       (:func:`sacrum.scoring.metrics.body_acceleration` with the pipeline's heading), for the
       summaries' regularity and harmonic ratios. Time, angles and that acceleration are
       kept for the whole session (56 bytes a sample: 40 MB for an hour at 200 Hz), or for
       the last ``keep_s`` (memory flat over any session).
    3. Per-step metrics (:class:`sacrum.scoring.metrics.StepMetricsStream`) from the angles, the
       gait events and the turns known so far.
    4. Live turns: a turn the gait stage reports after steps overlapping it were emitted
       re-marks those steps ``excluded="turn"`` in the session's steps (unless they were
       already excluded for a gap), and a used step whose stride, not the step itself,
       overlaps it loses its stride (stride time and ranges NaN), as
       :class:`~sacrum.scoring.metrics.StepMetricsStream` does with turns known in time, so the
       summaries agree with a run that knew the turn.
    5. Cues: for each new step, ``contralateral_drop_deg > threshold_deg[stance side]``
       where :meth:`cue_allowed`: the step is counted (``excluded`` None: not in a turn
       known so far, not irregular, no gap), its IC comes after the calibration (standing,
       or the walking zero) took effect (``Pipeline.calibrated_since_s``: before, its
       angles had another zero or none), and the progression heading was settled from its
       IC to 0.3 s after its stride (``PipelineChunk.heading_settled``: the live sign of a
       turn, which the gait stage reports only after the turn has ended; 0.3 s is less
       than the gait stage's least event latency, so those samples are there when the step
       comes out, in any chunking). A step that ends within a few tenths of a second of a
       turn's start can still cue before either knows of the turn.
    6. When there are new steps: the rolling summary (:func:`sacrum.scoring.metrics.summarize_walk`)
       over the window - the steps from the latest IC such that each stance side has
       ``window_steps // 2`` used steps (or all steps so far), the excluded steps among
       them included, so a window has ``window_steps`` used steps, balanced between the
       sides - with the samples they span and the gait stage's strides; then its score
       (:func:`sacrum.scoring.score.score_walk`; None with the reason while there are too few).
    7. The whole session: :meth:`session_summary` and :meth:`session_score`, computed on
       request (they cost time proportional to the session; the live view needs them only
       at the end).

    **Parameters.**

    rate_hz, q_sensor_to_body
        As :class:`~sacrum.signal.pipeline.Pipeline` (Hz; the mounting).
    window_steps = 20
        Used steps in the rolling summary (both sides together). The packaged bands try a
        score from 5 used steps per stance side and give it when its 90 % interval is
        narrow enough (docs/scoring.md, "How sure is the score"); 10 per side keeps the
        live interval about as narrow as a 10-m walk test's.
    threshold_deg = None
        Cue threshold on the contralateral drop (deg): one number for both sides, or
        {"L": .., "R": ..}; None: the ``normal_max`` of the bands' items on
        ``contralateral_drop_deg.L`` / ``.R`` (7° in the packaged bands).
    bands = None
        :class:`sacrum.scoring.score.Bands` (default: the packaged ones, ``load_bands()``).
    task = "walk"
        The task name given to ``score_walk``.
    keep_s = None
        Seconds of samples kept for the summaries (None: the whole session). With it,
        :meth:`session_summary` covers the steps of the last ``keep_s`` (and says so in
        its messages); the rolling summary is unaffected while its window is shorter.
    estimate_mounting = False, mount_check_s = 2.0, mount_confidence = 0.5,
    mount_change_deg = 1.0, enough_walking_s = 120.0
        Step 0 (``q_sensor_to_body`` is then the provisional mounting).
    walking_zero = False
        Step 1b. Steps 0 and 1b keep the raw samples too (a further 80 bytes a sample,
        ``keep_s`` applies), and each re-scoring costs the kept session once. The confidence and
        the 120 s are those of the offline estimate (``signal.pipeline._estimate_mounting``);
        1° is well under the estimate's own error on a short walk.
    pipeline_params, step_params
        Passed to :class:`~sacrum.signal.pipeline.Pipeline` and
        :class:`~sacrum.scoring.metrics.StepMetricsStream`.

    **Latency.** A step comes one stride after its IC plus the gait stage's event latency
    (0.52 s after steps up to 0.62 s, at most 0.72 s, at 100 Hz): about 1.5 s at 105
    steps/min. The last step of a walk comes
    ``max_step_s + event_latency_s`` after the walk's last IC (or at ``flush``).

    **Deviations from the offline analysis** (``sacrum analyze``): this is the live path:
    the causal orientation filter unless the device's quaternion is given, the first quiet
    standing as the zero (or with ``walking_zero`` the used strides so far), and the gait
    stage's strides are not used to judge steps (it gives a bout's strides only when the
    bout has ended, after its steps have gone out, which would make the steps depend on how
    the recording is chunked); they are used for stance and swing in the summaries. How far
    the live values are from the offline ones is measured in bench/consistency.py
    (``--live-only``) and bounded in tests/test_live_converge.py (docs/live.md).

    **Live turns.** The steps whose exclusion is re-marked by a late turn (step 4) were
    counted in the step-time median of :class:`~sacrum.scoring.metrics.StepMetricsStream` when
    they came out, which can change whether a later step is "irregular"; exact agreement
    between chunkings holds when turns are known before their steps come out (or there
    are none).
    """

    def __init__(self, rate_hz: float, q_sensor_to_body, *, window_steps: int = 20,
                 threshold_deg: float | dict[str, float] | None = None,
                 bands: Bands | None = None, task: str = "walk", keep_s: float | None = None,
                 pipeline_params: dict | None = None, step_params: dict | None = None,
                 estimate_mounting: bool = False, mount_check_s: float = 2.0,
                 mount_confidence: float = 0.5, mount_change_deg: float = 1.0,
                 enough_walking_s: float = 120.0, walking_zero: bool = False) -> None:
        if window_steps < 2:
            raise ValueError(f"window_steps must be at least 2 (one step per side), got "
                             f"{window_steps}")
        self.rate_hz = float(rate_hz)
        self.q_sensor_to_body = q_sensor_to_body
        self._q_given = np.asarray(q_sensor_to_body, float)
        self.estimate_mounting = bool(estimate_mounting)
        self.mount_check_n = max(1, round(mount_check_s * rate_hz))
        self.mount_confidence = float(mount_confidence)
        self.mount_change_rad = math.radians(mount_change_deg)
        self.enough_walking_s = float(enough_walking_s)
        self.walking_zero = bool(walking_zero)
        self.window_steps = int(window_steps)
        self.bands = bands or load_bands()
        self.task = task
        self.keep_s = keep_s
        self.threshold_deg = self.cue_thresholds(threshold_deg, self.bands)
        self._pipeline_params = dict(pipeline_params or {})
        self._step_params = dict(step_params or {})
        self.reset()

    @staticmethod
    def cue_thresholds(threshold_deg, bands: Bands) -> dict[str, float]:
        """The cue threshold per stance side (deg) for ``threshold_deg`` (one number, a
        {"L", "R"} dict, or None: the bands' ``normal_max`` on the contralateral drop)."""
        if isinstance(threshold_deg, dict):
            missing = [s for s in SIDES if s not in threshold_deg]
            if missing:
                raise ValueError(f"threshold_deg needs a value for each stance side "
                                 f"(L and R); missing {', '.join(missing)}")
            return {s: float(threshold_deg[s]) for s in SIDES}
        if threshold_deg is not None:
            return {s: float(threshold_deg) for s in SIDES}
        out = {}
        for comp in bands.components.values():
            for it in comp.items:
                for s in SIDES:
                    if it.metric == f"contralateral_drop_deg.{s}" and \
                            it.band.normal_max is not None:
                        out[s] = float(it.band.normal_max)
        missing = [s for s in SIDES if s not in out]
        if missing:
            raise ValueError(f"the bands ({bands.origin}) have no normal_max on "
                             f"contralateral_drop_deg.{missing[0]}: give threshold_deg")
        return out

    def reset(self) -> None:
        """Forget everything (a new recording)."""
        self.pipeline = Pipeline(self.rate_hz, self.q_sensor_to_body, **self._pipeline_params)
        self.stream = StepMetricsStream(**self._step_params)
        self.steps: list[StepMetrics] = []       # the session's steps (step 4 applied)
        self._samples = _Samples({"t": 1, "angles": 3, "acc": 3, "settled": 1})
        self._n_turns = 0
        self.summary: WalkSummary | None = None
        self.score: TaskScore | None = None
        self._session: tuple[tuple, WalkSummary, TaskScore] | None = None
        self._trimmed = False   # samples older than keep_s were dropped
        self._revisions = 0
        self.q_sensor_to_body = self._q_given
        #: Step 0: the mounting estimate in use (None: the given, provisional, mounting).
        self.mounting = None
        self._mount_done = not self.estimate_mounting
        self._raw = (_Samples({"t": 1, "acc": 3, "gyr": 3, "q": 4})
                     if self.estimate_mounting or self.walking_zero else None)
        #: Step 1b: the walking zero in use, (orientations, time of its last sample), and
        #: the used strides it came from.
        self._walk_zero: tuple[np.ndarray, float] | None = None
        self._zero_strides = 0
        self._ended = False
        self._device_q: bool | None = None   # the chunks came with the device's quaternion
        self._t_event_out = -math.inf         # the newest gait event given out
        self._mount_pending: list[np.ndarray] = []   # (t, acc, gyr, q) rows not yet fed
        self._mount_pending_n = 0
        self._estimator = None
        self._rescores = 0
        self._adopted = False   # a mounting adopted: score the kept samples again (step 0)

    def set_threshold(self, threshold_deg: float | dict[str, float] | None) -> None:
        """The cue threshold from now on (deg; as the parameter ``threshold_deg``)."""
        self.threshold_deg = self.cue_thresholds(threshold_deg, self.bands)

    # -- the chunk -----------------------------------------------------------------------
    def update(self, t_s, acc_mps2, gyr_radps, q_sensor_to_earth=None, *,
               learn_mask: np.ndarray | None = None) -> LiveUpdate:
        """One chunk (class docstring); ``learn_mask``: a bool per sample, the samples the
        mounting estimator may learn from (step 0; None: all)."""
        t = np.asarray(t_s, float).reshape(-1)
        acc = np.asarray(acc_mps2, float).reshape(-1, 3)
        was = self.withheld
        out = self._update(t, acc, gyr_radps, q_sensor_to_earth)
        if self._raw is not None:                                                  # 0.
            self._device_q = q_sensor_to_earth is not None if self._device_q is None \
                else self._device_q and q_sensor_to_earth is not None
            self._raw.append(t=t, acc=acc, gyr=np.asarray(gyr_radps, float).reshape(-1, 3),
                             q=out.chunk.q_sensor_to_earth)
            if self.keep_s is not None:
                self._raw.keep_last(max(1, round(self.keep_s * self.rate_hz)))
            again = self._feed_mounting(out.chunk.q_sensor_to_earth, acc, gyr_radps,
                                        learn_mask=learn_mask)
            again |= self._walking_zero_due()                                     # 1b.
            if again:
                out = self._rescore(out)
        if was and not self.withheld and self.summary is None and self.steps:
            # known now (a mounting close to the provisional one, or a zero)
            self.summary, self.score = self._summarize(self._window())
            out = replace(out, summary=self.summary, score=self.score, updated=True,
                          message=self.score.message)
        return out

    def _update(self, t, acc, gyr_radps, q_sensor_to_earth) -> LiveUpdate:
        chunk = self.pipeline.update(t, acc, gyr_radps, q_sensor_to_earth)        # 1.
        if chunk.events:
            self._t_event_out = max(self._t_event_out, max(e.t_s for e in chunk.events))
        acc_body = body_acceleration(chunk.q_sensor_to_earth, acc, chunk.heading_rad)  # 2.
        self._samples.append(t=t, angles=chunk.angles_rad, acc=acc_body,
                             settled=chunk.heading_settled)
        if self.keep_s is not None:
            self._trimmed |= self._samples.keep_last(max(1, round(self.keep_s * self.rate_hz)))
        turns = self.pipeline.gait.turns
        steps = self.stream.update(t, chunk.angles_rad, chunk.events, turns)      # 3.
        out = self._finish(chunk, steps)
        out.acc_body_mps2 = acc_body
        return out

    def flush(self) -> LiveUpdate:
        """End of the recording: the events and steps still pending (with
        ``estimate_mounting``, after the estimate from the samples left: step 0; with
        ``walking_zero``, the zero from the last bout's strides too: step 1b)."""
        t_out = max((s.t_ic_s for s in self.steps), default=-math.inf)  # given out
        t_ev = self._t_event_out
        rescored = self._feed_mounting(None, None, None, final=True)
        if rescored:
            self._rescore(None)
        out = self._flush()
        if self._walking_zero_due():   # the last bout's strides came with the flush (1b.)
            self._rescore(None)
            out = self._flush()
            rescored = True
        self._ended = True             # no zero to wait for: the values as they are
        if not self.withheld and self.summary is None and self.steps:
            self._revisions += 1
            self.summary, self.score = self._summarize(self._window())
            out = replace(out, summary=self.summary, score=self.score, updated=True,
                          message=self.score.message)
        if rescored:
            new = [s for s in self.steps if s.t_ic_s > t_out + _T_TOL_S]
            events = [e for e in out.chunk.events if e.t_s > t_ev + _T_TOL_S]
            out = replace(out, chunk=replace(out.chunk, events=events), steps=new,
                          cues=[self._cue(s) for s in new], updated=True, rescored=True)
        return out

    def _flush(self) -> LiveUpdate:
        events = self.pipeline.flush()
        turns = self.pipeline.gait.turns
        steps = self.stream.update(np.zeros(0), np.zeros((0, 3)), events, turns)
        steps += self.stream.flush()
        empty = PipelineChunk(np.zeros((0, 4)), np.zeros((0, 3)), np.zeros(0), events,
                              self.pipeline.calibration is not None)
        return self._finish(empty, steps)

    def _finish(self, chunk: PipelineChunk, steps: list[StepMetrics]) -> LiveUpdate:
        self.steps.extend(steps)
        revised = self._late_turns()                                              # 4.
        calibrated = self.pipeline.calibration is not None
        cues = [self._cue(s) for s in steps]                                      # 5.
        updated = bool(steps) or revised
        if self.withheld:                                                         # 0.
            self.summary = self.score = None
        elif updated:                                                             # 6.
            self.summary, self.score = self._summarize(self._window())
        if self.mounting_pending:
            message = self._mounting_message()
        elif self.withheld:
            message = ("no zero yet: no quiet standing found; the mean walking posture once "
                       "there are 4 used strides, as sacrum analyze zeroes; no drops or score "
                       "until then")
        elif self.score is not None:
            message = self.score.message
        elif not calibrated:
            message = "waiting for quiet standing to zero the angles (the standing calibration)"
        else:
            message = "no steps yet"
        return LiveUpdate(chunk, steps, cues, self.summary, self.score, updated, message)

    # -- step 0 ----------------------------------------------------------------------------
    @property
    def withheld(self) -> bool:
        """No summary, score or cue now: the mounting is being estimated (step 0), or
        with ``walking_zero`` there is no zero yet and the data have not ended (step 1b)."""
        return self.mounting_pending or (self.walking_zero and not self._ended
                                         and self.pipeline.calibration is None)

    @property
    def mounting_pending(self) -> bool:
        """Step 0: the mounting is being estimated and no estimate is in use yet (the
        angles are in the provisional mounting's frame: no summary, score or cue)."""
        return self.estimate_mounting and self.mounting is None

    def _mounting_message(self) -> str:
        from sacrum.signal.mounting import MountingError

        why = "not enough walking yet"
        if self._estimator is not None:
            try:
                est = self._estimator.estimate()
                why = f"it has settled to {est.settled_confidence:.2f} so far"
            except MountingError as e:
                why = str(e).splitlines()[0]
        return ("estimating the sensor's mounting from the walking, as sacrum analyze does; "
                f"no drops or score until then ({why})")

    def _feed_mounting(self, q, acc, gyr, *, final: bool = False,
                       learn_mask: np.ndarray | None = None) -> bool:
        """Feed the estimator ``mount_check_n`` samples at a time (those of ``learn_mask``;
        the others as NaN rows); whether the estimate, or a mounting adopted, now calls
        for scoring the kept samples again."""
        from sacrum.signal.mounting import MountingEstimator
        from sacrum.signal.quaternion import quat_angle_rad

        if self._adopted:
            self._adopted = False
            return True
        if self._mount_done:
            return False
        keep = learn_mask
        if q is not None and keep is not None and not np.all(keep):
            keep = np.asarray(keep, bool).reshape(-1)
            q, acc, gyr = (np.where(keep[:, None], np.asarray(x, float).reshape(len(keep), -1),
                                    np.nan) for x in (q, acc, gyr))
        if self._estimator is None:
            self._estimator = MountingEstimator(self.rate_hz)
        if q is not None:
            self._mount_pending.append(np.hstack([
                np.asarray(q, float).reshape(-1, 4), np.asarray(acc, float).reshape(-1, 3),
                np.asarray(gyr, float).reshape(-1, 3)]))
            self._mount_pending_n += len(self._mount_pending[-1])
        if self._mount_pending_n < self.mount_check_n and not final:
            return False
        rows = np.concatenate(self._mount_pending) if self._mount_pending else np.zeros((0, 10))
        n = len(rows) if final else len(rows) // self.mount_check_n * self.mount_check_n
        self._mount_pending = [rows[n:]] if n < len(rows) else []
        self._mount_pending_n = len(rows) - n
        est = None
        for i in range(0, n, self.mount_check_n):
            b = rows[i:i + self.mount_check_n]
            est = self._estimator.update(b[:, :4], b[:, 4:7], b[:, 7:])
        if final:  # as the offline estimate: whatever the whole recording gives
            self._mount_done = True
            est = self._estimator.flush()
        # settled, not confidence: waiting does not remove the bias an asymmetric gait
        # gives (MountingEstimate), so the total would keep a limping walk unscored
        if est is None or not (final or est.settled_confidence >= self.mount_confidence):
            return False
        if est.walking_s >= self.enough_walking_s:
            self._mount_done = True
        change = float(quat_angle_rad(np.asarray(est.q_sensor_to_body, float),
                                      np.asarray(self.q_sensor_to_body, float)))
        self.mounting = est
        if change <= self.mount_change_rad:
            return False
        self.q_sensor_to_body = np.asarray(est.q_sensor_to_body, float)
        return True

    def adopt_mounting(self, q_sensor_to_body, message: str) -> None:
        """Step 0: ``q_sensor_to_body`` (w, x, y, z), a mounting decided elsewhere, is the
        mounting from now on (``message``: where it came from; :attr:`mounting` becomes a
        :class:`~sacrum.signal.mounting.MountingEstimate` of it at confidence 1). The
        estimator stops; when it is more than ``mount_change_deg`` from the mounting in use
        the kept samples are scored again with it at the next :meth:`update` (or
        :meth:`flush`). Needs the raw samples kept (``estimate_mounting`` or
        ``walking_zero``)."""
        from sacrum.signal.mounting import MountingEstimate
        from sacrum.signal.quaternion import quat_angle_rad

        if self._raw is None:
            raise ValueError("adopt_mounting needs the raw samples kept: make the scorer "
                             "with estimate_mounting or walking_zero")
        q = np.asarray(q_sensor_to_body, float)
        self._mount_done = True
        self.mounting = MountingEstimate(q, 1.0, math.nan, math.nan, message)
        if float(quat_angle_rad(q, np.asarray(self.q_sensor_to_body, float))) > \
                self.mount_change_rad:
            self.q_sensor_to_body = q
            self._adopted = True

    def kept(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The kept samples as scored now: times (s), accelerometer (m/s², sensor frame),
        ``q_sensor_to_earth`` and the pelvic angles (rad), for a stage fed beside the
        scorer to be fed again after a re-scoring (:attr:`LiveUpdate.rescored`). Needs the
        raw samples kept (``estimate_mounting`` or ``walking_zero``)."""
        if self._raw is None:
            raise ValueError("kept() needs the raw samples kept: make the scorer with "
                             "estimate_mounting or walking_zero")
        t = self._samples.get("t")[:, 0]
        t_raw = self._raw.get("t")[:, 0]
        i = int(np.searchsorted(t_raw, t[0])) if len(t) else len(t_raw)
        j = i + len(t)
        return t, self._raw.get("acc", i, j), self._raw.get("q", i, j), self._samples.get("angles")

    def _rescore(self, last: LiveUpdate | None) -> LiveUpdate:
        """Every kept sample through a new pipeline and step stream with the mounting
        now in use (step 0), as one chunk."""
        t_out = max((s.t_ic_s for s in self.steps), default=-math.inf)
        t_ev = self._t_event_out
        raw = self._raw
        self.pipeline = Pipeline(self.rate_hz, self.q_sensor_to_body, **self._pipeline_params)
        self.stream = StepMetricsStream(**self._step_params)
        self.steps = []
        self._samples = _Samples({"t": 1, "angles": 3, "acc": 3, "settled": 1})
        self._n_turns = 0
        self._rescores += 1
        self._revisions += 1
        # the host filter again on the raw samples (deterministic: the same orientation,
        # and the new pipeline's filter carries on from it), the device's quaternion as given
        t_raw = raw.get("t")[:, 0]
        k = 0
        if self._walk_zero is not None:   # step 1b: that zero up to its last sample
            try:
                self.pipeline.calibrate_walking(self._walk_zero[0])
            except CalibrationError as e:
                log.info("walking zero not usable: %s", e)
            else:
                k = int(np.searchsorted(t_raw, self._walk_zero[1], "right"))
        parts = []
        for lo_, hi_ in ((0, k), (k, len(t_raw))):
            if hi_ > lo_:
                self.pipeline.auto_calibrate = lo_ >= k
                parts.append(self._update(
                    t_raw[lo_:hi_], raw.get("acc", lo_, hi_), raw.get("gyr", lo_, hi_),
                    raw.get("q", lo_, hi_) if self._device_q else None))
        self.pipeline.auto_calibrate = True
        out = parts[-1] if len(parts) == 1 else _joined(*parts)
        new = [k for k, s in enumerate(out.steps) if s.t_ic_s > t_out + _T_TOL_S]
        n = 0 if last is None else len(last.chunk.angles_rad)
        c = out.chunk
        lo = len(c.angles_rad) - n
        chunk = PipelineChunk(c.q_sensor_to_earth[lo:], c.angles_rad[lo:], c.heading_rad[lo:],
                              [e for e in c.events if e.t_s > t_ev + _T_TOL_S],
                              c.calibrated, c.heading_settled[lo:])
        return LiveUpdate(chunk, [out.steps[k] for k in new], [out.cues[k] for k in new],
                          out.summary, out.score, True, out.message,
                          None if last is None else last.acc_body_mps2, rescored=True)

    def _cue(self, s: StepMetrics) -> bool:
        return self.cue_allowed(s) and \
            s.contralateral_drop_deg > self.threshold_deg[s.stance_side]

    # -- step 1b ---------------------------------------------------------------------------
    def _walking_zero_due(self) -> bool:
        """Step 1b: whether the walking zero is to be taken (again) now: no standing zero,
        and twice the used strides it last came from (at least 4), spanning at least twice
        the standing calibration's samples, as ``analyze_recording`` asks of its walking
        zero (``_used_stride_mask``)."""
        if not self.walking_zero or self.mounting_pending:
            return False
        cal = self.pipeline.calibration
        if cal is not None and cal.reference == "standing":
            return False
        used = [st for st in self.pipeline.gait.strides if st.used]
        if len(used) < max(4, 2 * self._zero_strides):
            return False
        t = self._raw.get("t")[:, 0]
        mask = np.zeros(len(t), bool)
        for st in used:
            mask[np.searchsorted(t, st.t_start_s):np.searchsorted(t, st.t_end_s)] = True
        if mask.sum() < 2 * self.pipeline.calibrate_n:
            return False
        self._zero_strides = len(used)
        self._walk_zero = (self._raw.get("q")[mask].copy(), float(t[mask][-1]))
        return True

    def cue_allowed(self, step: StepMetrics) -> bool:
        """Step 5: whether ``step`` may cue: counted, after the calibration, heading settled
        from its IC to ``_CUE_AFTER_S`` after its stride."""
        if not is_scored(step) or not step.t_ic_s >= self.pipeline.calibrated_since_s \
                or self.withheld:
            return False
        t = self._samples.get("t")[:, 0]
        dur = step.stride_time_s if math.isfinite(step.stride_time_s) else step.step_time_s
        lo = int(np.searchsorted(t, step.t_ic_s - _T_TOL_S))
        hi = int(np.searchsorted(t, step.t_ic_s + dur + _CUE_AFTER_S, "right"))
        return hi > lo and bool(self._samples.get("settled", lo, hi).all())

    # -- step 4 ----------------------------------------------------------------------------
    def _late_turns(self) -> bool:
        turns: list[Turn] = self.pipeline.gait.turns
        changed = False
        for tr in turns[self._n_turns:]:
            for i in range(len(self.steps) - 1, -1, -1):
                s = self.steps[i]
                t_end = s.t_ic_s + (s.stride_time_s if math.isfinite(s.stride_time_s)
                                    else s.step_time_s)
                if t_end < tr.t_start_s - 30.0:
                    break                               # far enough back (a 10-s turn at most)
                if not (tr.t_end_s >= s.t_ic_s and tr.t_start_s <= t_end):
                    continue
                if s.excluded in _BELOW_TURN and tr.t_start_s <= s.t_ic_s + s.step_time_s:
                    self.steps[i] = replace(s, excluded="turn")     # the step turns
                    changed = True
                elif s.excluded is None and math.isfinite(s.stride_time_s):
                    self.steps[i] = replace(                        # only its stride turns
                        s, stride_time_s=math.nan, obliquity_rom_deg=math.nan,
                        tilt_rom_deg=math.nan, rotation_rom_deg=math.nan)
                    changed = True
        self._n_turns = len(turns)
        self._revisions += changed
        return changed

    # -- step 6 ----------------------------------------------------------------------------
    def _window(self) -> list[StepMetrics]:
        """The last steps holding ``window_steps // 2`` used steps of each side."""
        need = self.window_steps // 2
        left = {s: need for s in SIDES}
        start = 0
        for i in range(len(self.steps) - 1, -1, -1):
            s = self.steps[i]
            if s.excluded is None and left.get(s.stance_side, 0) > 0:
                left[s.stance_side] -= 1
            if not any(left.values()):
                start = i
                break
        return self.steps[start:]

    def _summarize(self, steps: list[StepMetrics]) -> tuple[WalkSummary, TaskScore]:
        t = self._samples.get("t")[:, 0]
        if steps:
            t0 = min(s.t_ic_s for s in steps)
            t1 = max(s.t_ic_s + (s.stride_time_s if math.isfinite(s.stride_time_s)
                                 else s.step_time_s) for s in steps)
            lo = int(np.searchsorted(t, t0 - 1e-3, "left"))
            hi = int(np.searchsorted(t, t1 + 1e-3, "right"))
        else:
            lo = hi = len(t)
            t0 = t1 = math.nan
        strides = [st for st in self.pipeline.gait.strides
                   if t0 - _T_TOL_S <= st.t_start_s <= t1 + _T_TOL_S]
        summary = summarize_walk(steps, t[lo:hi], self._samples.get("angles", lo, hi),
                                 self._samples.get("acc", lo, hi), strides)
        return summary, score_walk(summary, self.bands, task=self.task, steps=steps)

    # -- step 7 ----------------------------------------------------------------------------
    def _session_results(self) -> tuple[WalkSummary, TaskScore]:
        key = (len(self.steps), len(self.pipeline.gait.strides), self._revisions)
        if self._session is None or self._session[0] != key:
            t = self._samples.get("t")[:, 0]
            steps = self.steps
            if self._trimmed and len(t):   # only the steps whose samples are still here
                steps = [s for s in steps if s.t_ic_s >= t[0]]
            summary = summarize_walk(steps, t, self._samples.get("angles"),
                                     self._samples.get("acc"), self.pipeline.gait.strides)
            if len(steps) < len(self.steps):
                summary.messages.append(
                    f"session summary over the last {self.keep_s:g} s ({len(steps)} of "
                    f"{len(self.steps)} steps): older samples are not kept live; "
                    "sacrum analyze on the recording covers the whole session")
            score = score_walk(summary, self.bands, task=self.task, steps=steps)
            self._session = (key, summary, score)
        return self._session[1], self._session[2]

    def session_summary(self) -> WalkSummary:
        """The :class:`~sacrum.scoring.metrics.WalkSummary` of every step so far."""
        return self._session_results()[0]

    def session_score(self) -> TaskScore:
        """:func:`~sacrum.scoring.score.score_walk` of :meth:`session_summary`."""
        return self._session_results()[1]


def _joined(a: LiveUpdate, b: LiveUpdate) -> LiveUpdate:
    """Two consecutive updates as one (``b``'s summary and score)."""
    ca, cb = a.chunk, b.chunk
    chunk = PipelineChunk(np.vstack([ca.q_sensor_to_earth, cb.q_sensor_to_earth]),
                          np.vstack([ca.angles_rad, cb.angles_rad]),
                          np.concatenate([ca.heading_rad, cb.heading_rad]),
                          ca.events + cb.events, cb.calibrated,
                          np.concatenate([ca.heading_settled, cb.heading_settled]))
    return LiveUpdate(chunk, a.steps + b.steps, a.cues + b.cues, b.summary or a.summary,
                      b.score or a.score, a.updated or b.updated, b.message)


__all__ = ["LiveScorer", "LiveUpdate"]

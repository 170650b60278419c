"""One recording analysed: the object every command reads (``sacrum.load``, ``sacrum.analyze``).

:func:`load` reads a capture or an IMU CSV into a :class:`Recording`; :func:`analyze` runs
the stages on it and returns an :class:`Analysis`: tidy tables (``samples``, ``events``,
``steps``, ``turns``, ``tasks``), the ``summary``, the ``score`` with its interval, and
``to_json()``, the document ``sacrum analyze --json`` writes (docs/analysis-json.md, field
by field). ``sacrum analyze``, ``report``, ``batch``, ``export-tables``, ``events``,
``sessions`` and the live view's end-of-session summary all show this one object
(``sacrum.apps.*``); none wires the stages itself.

Sits on top of the stages: input → ``pipeline.analyze_recording`` (orientation, mounting,
calibration, angles, gait events) → ``metrics.step_metrics`` → tasks (``tasks.find_stairs``
without marks) → per task ``metrics.summarize_walk`` and ``score.score_walk`` (walk,
stairs), ``tasks.single_leg_stance`` and ``score.score_single_leg_stance``, or
``tasks.repetitions`` and ``score.score_repetitions`` → ``score.score_session``.

Steps of :func:`analyze`:

1. Read the input (:func:`load`): a capture (``decode_capture``: the samples, the
   device's orientation, the task marks, the loss report) or an IMU CSV
   (``imucsv.read_imu_csv``: no marks; lost samples are NaN rows).
2. The pipeline over the whole recording. The orientation is the host's offline filter
   (``orientation_offline``, the whole recording smoothed) on the samples, for a capture
   too: its device quaternion is the real-time estimate the live view shows, and a capture
   and the same samples as a CSV must give one answer (bench/consistency.py: with the
   device's quaternion a capture's drops differed from its CSV's by up to 1.3°, with the
   host filter on both by 0.13°); ``device_orientation=True`` uses the device's instead.
   The mounting is estimated unless
   given (``--mount``), tilt and obliquity are zeroed on the first quiet
   standing. Gait events are kept within their walking bouts (as
   ``gait.detect_events`` does offline).
3. Step metrics of every step, with the gait stage's strides and turns.
4. Tasks: the whole recording as ``task`` if given; else the task marks of a
   capture; else the stair segments ``tasks.find_stairs`` finds inside the
   walking bouts (``stairs-up``/``stairs-down``, with their confidence and
   evidence), every running bout ``signal.running`` finds as a ``run`` segment
   (a flight after each contact; first, so its steps are not walking) and every
   walking bout found, without the running bouts' spans, as a ``walk`` segment. Segments of
   the same task are pooled (six passes of a corridor are one walking task).
   A step (and a stride) belongs to the first segment its initial contact
   falls in, stairs before walks: steps on found stairs are not level walk.
5. Per task, by its kind (:func:`task_kind`): for stepping tasks (walk,
   stairs, any other name) the walking summary of its steps, with the angles
   and the body acceleration of the samples outside its segments (beyond a 3-s
   margin for the last stride) set to NaN, the pipeline's convention for "no
   data", then ``score_walk``; for ``single-leg-stance-left|right``
   ``tasks.single_leg_stance`` on each segment's samples (the trial with the
   longest stable hold is the task's summary) then ``score_single_leg_stance``;
   for ``step-down|step-up-left|right`` ``tasks.repetitions`` on each
   segment's samples (pooled, medians over repetitions) then
   ``score_repetitions``. The side in the name is the stance leg. For an exercise
   (``sacrum.scoring.exercises.EXERCISES``) ``analyse_exercise`` on each segment's samples
   (body orientation of the levelled mounting; repetitions, holds, sets and their
   provisional scores; the task score the mean of the set scores). For ``run``
   ``signal.running.detect_running`` and ``scoring.running.running_step_metrics`` over the
   whole recording, then ``summarize_run`` and ``score_run`` over the running steps in the
   task's segments (walking steps counted, not measured); without ``--mount`` the mounting
   of a session with a run task is ``estimate_running_mount``'s (step 2).
6. The session score over the tasks, and the statements a reader needs:
   no calibration, a doubtful mounting, gaps inside a task, steps outside
   every task, tasks without steps or without a score.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import sacrum_protocol as sp
from sacrum import __version__
from sacrum.scoring.score import (
    Bands,
    TaskScore,
    load_bands,
    score_repetitions,
    score_session,
    score_single_leg_stance,
    score_walk,
)
from sacrum.scoring.task_kinds import repetition_summary, task_kind

# The signal stages (numba, scipy) are imported when an analysis runs, not when the CLI
# registers the command: `sacrum info` should not wait for them.

log = logging.getLogger(__name__)

FORMAT = "sacrum-analysis"
#: 2: ``strides`` renamed ``steps`` (one object per step; docs/analysis-json.md, Changes).
FORMAT_VERSION = 3
#: Samples kept around a task's segments for the strides that start inside and end after (s).
SEGMENT_MARGIN_S = 3.0
#: Below this mounting confidence the document says the angles may be mixed.
LOW_MOUNTING_CONFIDENCE = 0.5
#: Gaps listed in the document (all are counted).
MAX_GAPS_LISTED = 100


@dataclass(frozen=True)
class Segment:
    """A stretch of the recording analysed as one task: source is "annotation" (a task mark
    of the capture), "option" (``--task``: the whole recording) or "detected" (a walking
    bout found by the gait stage, or stairs found in it: then ``confidence`` 0..1 and
    ``evidence``, as ``tasks.StairSegment``)."""

    task: str
    t_start_s: float
    t_end_s: float
    source: str
    confidence: float | None = None
    evidence: str | None = None


@dataclass
class Recording:
    """A recording read in SI units (step 1), as :func:`load` returns it.

    Attributes
    ----------
    kind : str
        ``"capture"`` (a sacrum capture) or ``"csv"`` (an IMU CSV).
    t_s : numpy.ndarray
        (N,) sample times (s): for a capture seconds since its start, for a CSV its ``t``.
    acc_mps2 : numpy.ndarray
        (N, 3) acceleration (m/s²), sensor frame; NaN rows are lost samples.
    gyr_radps : numpy.ndarray
        (N, 3) angular rate (rad/s), sensor frame; NaN rows are lost samples. The sensor's
        own rate, as an IMU CSV has it: for a capture whose device said its gyro bias
        (protocol 1.2 BIAS packets) the wire's bias-corrected rate plus that bias.
    q_sensor_to_earth : numpy.ndarray or None
        (N, 4) the device's orientation (w, x, y, z; earth z up) of a capture; None for a
        CSV (the analysis runs the host filter).
    rate_hz : float
        Sample rate (Hz).
    marks : list of tuple
        Task marks ``(task, t_start_s, t_stop_s or None)`` of a capture; empty for a CSV.
    loss : dict
        The loss report (docs/analysis-json.md, ``loss``): for a capture the decoder's, for
        a CSV ``samples_expected`` and ``samples_lost``; both ``loss_fraction`` (0–1).
    pressure_hpa : numpy.ndarray or None
        (N,) barometer (hPa) when a CSV has a ``p_hpa`` column.
    path : str
        The input as given.
    device : dict
        The capture's device record (name, firmware, IMU, ...), as ``sacrum info`` shows
        it; empty for a CSV.
    mounting : dict or None
        The capture's last ``mounting`` annotation (protocol/SPEC.md §5.2: ``spec``,
        ``q_sensor_to_body``, ``source``): the mounting the recording session used
        (``sacrum exercise`` writes it); None without one.
    gyr_bias_radps : numpy.ndarray or None
        (N, 3) the gyro bias (rad/s, sensor frame) the device took off the streamed rate at
        each sample (``gyr_radps - gyr_bias_radps`` is the wire's rate); None for a CSV or a
        capture without BIAS packets (its ``gyr_radps`` is the wire's).
    """

    kind: str  # "capture" | "csv"
    t_s: np.ndarray
    acc_mps2: np.ndarray
    gyr_radps: np.ndarray
    q_sensor_to_earth: np.ndarray | None
    rate_hz: float
    marks: list[tuple[str, float, float | None]]
    loss: dict[str, Any]
    pressure_hpa: np.ndarray | None = None  # barometer (hPa), when the input has one
    path: str = ""
    device: dict[str, Any] = field(default_factory=dict)
    mounting: dict[str, Any] | None = None
    gyr_bias_radps: np.ndarray | None = None

    @property
    def tasks(self):
        """The task marks as a DataFrame: ``task``, ``t_start_s``, ``t_end_s`` (NaN: the mark
        was never stopped, the task runs to the end)."""
        import pandas as pd

        return pd.DataFrame([(n, float(a), math.nan if b is None else float(b))
                             for n, a, b in self.marks],
                            columns=["task", "t_start_s", "t_end_s"])

    @property
    def samples(self):
        """The samples as a DataFrame: ``t_s``, ``acc_x_mps2`` ... ``gyr_z_radps`` (sensor
        frame), ``qw`` ... ``qz`` (a capture's device orientation), ``p_hpa`` (a CSV's
        barometer), ``lost`` (bool)."""
        import pandas as pd

        cols: dict[str, Any] = {"t_s": self.t_s}
        for j, ax in enumerate("xyz"):
            cols[f"acc_{ax}_mps2"] = self.acc_mps2[:, j]
        for j, ax in enumerate("xyz"):
            cols[f"gyr_{ax}_radps"] = self.gyr_radps[:, j]
        if self.q_sensor_to_earth is not None:
            for j, c in enumerate("wxyz"):
                cols[f"q{c}"] = np.asarray(self.q_sensor_to_earth[:, j], float)
        if self.pressure_hpa is not None:
            cols["p_hpa"] = self.pressure_hpa
        cols["lost"] = ~(np.isfinite(self.acc_mps2).all(axis=1)
                         & np.isfinite(self.gyr_radps).all(axis=1))
        return pd.DataFrame(cols)


def load(path: str | os.PathLike, *, check_units: bool = True) -> Recording:
    """Read a recording: a capture (recognised by its magic bytes) or an IMU CSV.

    Parameters
    ----------
    path : str or os.PathLike
        A sacrum capture (``.sacrum``) or an IMU CSV with ``t`` (s), ``ax ay az`` (m/s²),
        ``gx gy gz`` (rad/s) in the sensor frame (``sacrum.io.imucsv``; an optional
        ``p_hpa`` barometer column).
    check_units : bool
        Refuse a CSV in g, °/s or ms (the message says the fix); False skips the check.

    Returns
    -------
    Recording

    Raises
    ------
    ValueError
        ``CaptureError``, ``UnitsError`` or a recording shorter than a second, with a
        message that says what to do.
    """
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(len(sp.CAPTURE_MAGIC))
    if head == sp.CAPTURE_MAGIC:
        from sacrum.io.decode import decode_capture

        table = decode_capture(path)
        if len(table) < 2:
            raise ValueError(f"{path}: the capture holds {len(table)} samples; nothing to analyse")
        from sacrum.io.imucsv import check_duration

        check_duration(np.asarray(table.t_s, float), path)
        loss = {k: v for k, v in vars(table.loss).items() if k != "gap_list"}
        loss["loss_fraction"] = table.loss.loss_fraction
        bias = table.gyr_bias_radps  # the device's, when it said it: the sensor's own rate
        return Recording("capture", np.asarray(table.t_s, float),
                         np.asarray(table.acc_mps2, float),
                         np.asarray(table.gyr_sensor_radps, float),
                         table.q, table.rate_hz, table.tasks(), loss, path=str(path),
                         device=dict(table.device or {}),
                         mounting=_recorded_mounting(table.annotations),
                         gyr_bias_radps=None if bias is None else np.asarray(bias, float))
    from sacrum.io.imucsv import check_duration, rate_of, read_imu_csv, read_pressure

    t, acc, gyr = read_imu_csv(path, check=check_units)
    check_duration(t, path)
    pressure = read_pressure(path, len(t))
    lost = int(np.count_nonzero(~(np.isfinite(acc).all(axis=1) & np.isfinite(gyr).all(axis=1))))
    loss = {"samples_expected": len(t), "samples_lost": lost, "loss_fraction": lost / len(t)}
    return Recording("csv", t, acc, gyr, None, rate_of(t), [], loss, pressure, path=str(path))


#: The former name of :func:`load`.
read_input = load


def _recorded_mounting(annotations) -> dict[str, Any] | None:
    """The last ``mounting`` annotation of a capture with a usable quaternion (None: none)."""
    found = None
    for _, a in annotations:
        q = a.get("q_sensor_to_body") if a.get("type") == "mounting" else None
        if (isinstance(q, list) and len(q) == 4
                and all(isinstance(v, int | float) and math.isfinite(v) for v in q)
                and abs(math.hypot(*q) - 1.0) < 1e-3):
            found = {"spec": a.get("spec"), "q_sensor_to_body": [float(v) for v in q],
                     "source": str(a.get("source") or "unknown")}
    return found


@dataclass(frozen=True)
class Score:
    """The session's pelvic control score (docs/scoring.md).

    Attributes
    ----------
    value : float or None
        0–100; None when no task could be scored (``message`` says why).
    interval : tuple of float or None
        ``(low, high)``, its ``level`` interval (0–100); None when not estimated.
    level : float
        Coverage of the interval (0.90).
    message : str
        How the score was made, or why there is none.
    n_steps_used : int
        Used steps the score comes from.
    components : dict
        By component name (``drop``, ``symmetry``, ...): ``score``, ``interval``,
        ``weight``, ``reason``, ``by_task`` (docs/analysis-json.md, ``summary.components``).
    """

    value: float | None
    interval: tuple[float, float] | None
    level: float
    message: str
    n_steps_used: int
    components: dict[str, Any]


def steps_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-step objects of an analysis document: ``steps`` (format 2), or ``strides``
    (format 1, stored by an older sacrum)."""
    return doc.get("steps", doc.get("strides")) or []


def steps_outside_tasks(steps: list[dict[str, Any]]) -> int:
    """How many of a document's ``steps`` lie outside every task of a capture with tasks (0
    without tasks): listed, but in no summary's count."""
    return sum(not d.get("task") for d in steps) if any(d.get("task") for d in steps) else 0


#: Columns of :attr:`Analysis.steps`, in order (the document's ``steps[]``, ``t_ic`` as ``t_ic_s``).
STEP_COLUMNS = ("index", "task", "stance_side", "t_ic_s", "step_time_s", "stride_time_s",
                "contralateral_drop_deg", "drop_time_pct", "obliquity_rom_deg",
                "tilt_rom_deg", "rotation_rom_deg", "mean_tilt_deg", "excluded", "bout")
#: Columns of :attr:`Analysis.running_steps`, in order (the document's ``running_steps[]``).
RUNNING_STEP_COLUMNS = ("index", "task", "stance_side", "t_ic_s", "t_to_s", "contact_time_s",
                        "flight_time_s", "step_time_s", "contralateral_drop_deg",
                        "drop_time_pct", "obliquity_rom_deg", "tilt_rom_deg",
                        "rotation_rom_deg", "mean_tilt_deg", "vertical_oscillation_m",
                        "braking_mps2", "peak_vertical_mps2", "excluded", "bout")
#: First columns of :attr:`Analysis.repetitions` (the exercise's own metrics follow).
REPETITION_COLUMNS = ("task", "index", "set_index", "side", "t_start_s", "t_end_s",
                      "partial", "tilt_excursion_deg", "obliquity_excursion_deg",
                      "rotation_excursion_deg")
#: First columns of :attr:`Analysis.holds`.
HOLD_COLUMNS = ("task", "index", "t_start_s", "t_end_s", "hold_s", "t_control_lost_s",
                "tilt_excursion_deg", "obliquity_excursion_deg", "rotation_excursion_deg")
#: First columns of :attr:`Analysis.exercise_sets` (the document's ``exercise.sets[]``).
EXERCISE_SET_COLUMNS = ("task", "set_index", "metric", "n_repetitions", "n_partial",
                        "hold_s", "score", "score_low", "score_high",
                        "score_interval_level", "score_interval_reason",
                        "consistency_sd_deg", "fatigue_slope", "lr_difference_deg")
#: Columns of :attr:`Analysis.turns`, in order (the document's ``turns[]``).
TURN_COLUMNS = ("index", "task", "t_start_s", "t_end_s", "duration_s", "angle_deg",
                "direction", "peak_rate_dps", "mean_rate_dps", "n_steps", "bout")


@dataclass
class Analysis:
    """One recording analysed: what every command shows (:func:`analyze` makes it).

    The tables are tidy pandas DataFrames, one row per sample / event / step / turn / task,
    with the unit in each column name: SI inside (``_s``, ``_rad``, ``_mps2``, ``_radps``);
    the per-step, per-turn and per-task tables are in degrees (``_deg``) as the document
    is. ``to_json()`` is the document ``sacrum analyze --json`` writes
    (docs/analysis-json.md); the tables are the same numbers.

    Attributes
    ----------
    recording : Recording
        The input (:func:`load`).
    samples : pandas.DataFrame
        One row per sample on the sample grid (lost samples included): ``t_s``;
        ``qw, qx, qy, qz`` (``q_sensor_to_earth``: the device's, or the host filter's for a
        CSV); ``acc_x_mps2`` ... ``acc_z_mps2``, ``gyr_x_radps`` ... ``gyr_z_radps``
        (sensor frame); ``tilt_rad``, ``obliquity_rad``, ``rotation_rad`` (the pelvic
        angles, docs/pelvic-angles.md; NaN where lost); ``heading_rad`` (progression
        heading, earth frame); flags ``gap`` (the sample is lost), ``in_bout`` (inside a
        walking bout, first to last IC), ``in_turn`` (inside a turn the gait stage found),
        ``heading_settled`` (the heading window is a stride clear of turns); ``bout`` (the
        bout index, -1 outside) and ``task`` (the task segment holding the sample, None
        outside every one).
    events : pandas.DataFrame
        The gait events the analysis used (those inside their walking bouts): ``t_s``,
        ``kind`` (``"IC"``/``"FC"``), ``side`` (``"L"``/``"R"``, the foot), ``bout``.
    steps : pandas.DataFrame
        One row per step (IC to the next IC), used or not: ``index``, ``task`` (None: in
        no task), ``stance_side``, ``t_ic_s``, ``step_time_s``, ``stride_time_s``,
        ``contralateral_drop_deg``, ``drop_time_pct``, ``obliquity_rom_deg``,
        ``tilt_rom_deg``, ``rotation_rom_deg``, ``mean_tilt_deg``, ``excluded`` (missing,
        ``isna()``, = used; else the reason: ``"gap"``, ``"turn"``, ``"irregular"``,
        ``"bout-edge"``), ``bout`` (docs/analysis-json.md, ``steps``). A step in no task
        has a missing ``task``.
    turns : pandas.DataFrame
        One row per turn: ``index``, ``task``, ``t_start_s``, ``t_end_s``, ``duration_s``,
        ``angle_deg``, ``direction``, ``peak_rate_dps``, ``mean_rate_dps``, ``n_steps``,
        ``bout``.
    tasks : pandas.DataFrame
        One row per task (segments of a task pooled): ``task``, ``kind`` (``"steps"``,
        ``"stance"``, ``"repetitions"``, ``"exercise"``, ``"run"``), ``side``,
        ``n_segments``, ``t_start_s`` (its first segment), ``n_steps``, ``n_steps_used``,
        ``score`` (0–100 or None),
        ``score_low``, ``score_high`` (its interval), ``cadence_spm``,
        ``contralateral_drop_L_deg``, ``contralateral_drop_R_deg`` (left / right stance
        medians; NaN for a stance or repetitions task).
    summary : dict
        The session's headline and every task in full (docs/analysis-json.md, ``summary``).
    score : Score
        The session score with its interval.
    mounting : dict
        How the sensor sits on the pelvis (docs/analysis-json.md, ``mounting``).
    calibration : dict
        The standing calibration (docs/analysis-json.md, ``calibration``).
    messages : list of str
        Every statement a reader needs (no calibration, a doubtful mounting, gaps, ...).
    q_sensor_to_body : numpy.ndarray
        (4,) the levelled mounting the angles used (w, x, y, z).
    repetitions : pandas.DataFrame
        One row per repetition of every exercise task (partials included, ``partial``
        True), the document's ``summary.tasks[].exercise.repetitions[]`` with the task:
        ``task``, ``index``, ``set_index``, ``side``, ``t_start_s``, ``t_end_s``,
        ``partial``, ``tilt_excursion_deg``, ``obliquity_excursion_deg``,
        ``rotation_excursion_deg``, the exercise's own metrics (``*_deg``), tempo
        (``up_s``, ``hold_s``, ``down_s``), ``sway_rms_dps``, ``ldlj_v``, ... (columns in
        :data:`REPETITION_COLUMNS` first, then the rest); empty without exercise tasks.
    holds : pandas.DataFrame
        One row per hold of every held exercise task (``plank``, ``side-plank-…``,
        ``bridge-hold``): ``task``, ``index``, ``t_start_s``, ``t_end_s``, ``hold_s``,
        ``t_control_lost_s``, the excursions and own metrics; empty without one.
    exercise_sets : pandas.DataFrame
        One row per set of every exercise task (``exercise.sets[]``): ``task``,
        ``set_index``, ``metric``, counts, ``hold_s``, ``score`` and its interval
        ``score_low``, ``score_high`` (NaN: none; ``score_interval_reason`` says why),
        ``score_interval_level``, consistency, fatigue, left-right
        (:data:`EXERCISE_SET_COLUMNS`, then ``median_<field>``); empty without one.
    running_steps : pandas.DataFrame
        One row per running step of the ``run`` tasks (the document's ``running_steps``):
        ``index``, ``task``, ``stance_side``, ``t_ic_s``, ``t_to_s``, ``contact_time_s``,
        ``flight_time_s``, ``step_time_s``, ``contralateral_drop_deg``, ...,
        ``vertical_oscillation_m``, ``braking_mps2``, ``excluded``, ``bout``
        (:data:`RUNNING_STEP_COLUMNS`). Walking steps are in :attr:`steps` (the walking
        gait stage), running steps only here.
    """

    recording: Recording
    samples: Any
    events: Any
    steps: Any
    turns: Any
    tasks: Any
    summary: dict[str, Any]
    score: Score
    mounting: dict[str, Any]
    calibration: dict[str, Any]
    messages: list[str]
    q_sensor_to_body: np.ndarray
    _document: dict[str, Any] = field(repr=False, default_factory=dict)
    repetitions: Any = None
    holds: Any = None
    running_steps: Any = None
    exercise_sets: Any = None

    def to_json(self) -> dict[str, Any]:
        """The analysis document (plain JSON values, NaN as None; docs/analysis-json.md), a
        copy the caller may change."""
        return copy.deepcopy(self._document)

    def write_json(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_json` to ``path`` (strict JSON: no NaN)."""
        write_json(self._document, path)

    @property
    def used_steps(self):
        """The rows of :attr:`steps` used in the summaries (``excluded`` missing)."""
        return self.steps[self.steps["excluded"].isna()]

    @classmethod
    def _build(cls, rec: Recording, res, doc: dict[str, Any], events,
               segments: list[Segment]) -> Analysis:
        import pandas as pd

        summ = doc["summary"]
        n = len(res.t_s)
        t = np.asarray(res.t_s, float)
        cols: dict[str, Any] = {"t_s": t}
        q = np.asarray(res.q_sensor_to_earth, float)
        for j, c in enumerate("wxyz"):
            cols[f"q{c}"] = q[:, j]
        for j, ax in enumerate("xyz"):
            cols[f"acc_{ax}_mps2"] = rec.acc_mps2[:, j]
        for j, ax in enumerate("xyz"):
            cols[f"gyr_{ax}_radps"] = rec.gyr_radps[:, j]
        for j, name in enumerate(("tilt", "obliquity", "rotation")):
            cols[f"{name}_rad"] = np.asarray(res.angles_rad[:, j], float)
        cols["heading_rad"] = np.asarray(res.heading_rad, float)
        cols["gap"] = ~(np.isfinite(rec.acc_mps2).all(axis=1)
                        & np.isfinite(rec.gyr_radps).all(axis=1))
        bout = np.full(n, -1, np.int64)
        for b in res.gait.bouts:
            bout[(t >= b.t_start_s) & (t <= b.t_end_s)] = b.index
        cols["in_bout"] = bout >= 0
        in_turn = np.zeros(n, bool)
        for tr in res.gait.turns:
            in_turn |= (t >= tr.t_start_s) & (t <= tr.t_end_s)
        cols["in_turn"] = in_turn
        settled = np.asarray(res.heading_settled, bool)
        cols["heading_settled"] = settled if len(settled) == n else np.zeros(n, bool)
        cols["bout"] = bout
        task = np.full(n, None, dtype=object)
        for g in reversed(segments):  # the first segment holding a sample wins
            task[(t >= g.t_start_s) & (t <= g.t_end_s)] = g.task
        cols["task"] = task
        samples = pd.DataFrame(cols)

        ev = pd.DataFrame([(e.t_s, e.kind, e.side, e.bout) for e in events],
                          columns=["t_s", "kind", "side", "bout"])
        steps = pd.DataFrame([{**x, "t_ic_s": x["t_ic"]} for x in doc["steps"]],
                             columns=list(STEP_COLUMNS)).astype({"index": "int64"})
        steps = steps.fillna({c: math.nan for c in STEP_COLUMNS
                              if c.endswith(("_s", "_deg", "_pct"))})
        turns = pd.DataFrame(doc["turns"], columns=list(TURN_COLUMNS))
        rows = []
        for entry in summ["tasks"]:
            drop = entry.get("contralateral_drop_deg") or {}
            iv = entry.get("score_interval") or (None, None)
            segs = entry.get("segments") or []
            rows.append({
                "task": entry["task"], "kind": entry["kind"], "side": entry.get("side"),
                "n_segments": len(segs),
                "t_start_s": segs[0]["t_start_s"] if segs else math.nan,
                "n_steps": entry.get("n_steps", 0), "n_steps_used": entry.get("n_steps_used", 0),
                "score": entry.get("score"),
                "score_low": math.nan if iv[0] is None else iv[0],
                "score_high": math.nan if iv[1] is None else iv[1],
                "cadence_spm": _num(entry.get("cadence_spm")),
                "contralateral_drop_L_deg": _num(drop.get("L")),
                "contralateral_drop_R_deg": _num(drop.get("R"))})
        tasks = pd.DataFrame(rows, columns=["task", "kind", "side", "n_segments", "t_start_s",
                                            "n_steps", "n_steps_used", "score", "score_low",
                                            "score_high", "cadence_spm",
                                            "contralateral_drop_L_deg",
                                            "contralateral_drop_R_deg"])
        iv = summ.get("score_interval")
        score = Score(summ.get("score"), tuple(iv) if iv else None,
                      float(summ.get("score_interval_level") or 0.9),
                      summ.get("score_message") or "", int(summ.get("score_n_steps_used") or 0),
                      summ.get("components") or {})
        cal = res.calibration
        q_body = np.asarray(cal.q_sensor_to_body if cal is not None else res.q_sensor_to_body,
                            float)
        reps, holds, ex_sets = [], [], []
        for entry in summ["tasks"]:
            ex = entry.get("exercise")
            if ex:
                reps += [{"task": entry["task"]} | r for r in ex.get("repetitions", [])]
                holds += [{"task": entry["task"]} | h for h in ex.get("holds", [])]
                ex_sets += [_set_row(st) for st in ex.get("sets", [])]
        running = pd.DataFrame(
            [{**x, "t_ic_s": x["t_ic"]} for x in doc.get("running_steps", [])],
            columns=list(RUNNING_STEP_COLUMNS))
        running = running.fillna({c: math.nan for c in RUNNING_STEP_COLUMNS
                                  if c.endswith(("_s", "_deg", "_pct", "_m", "_mps2"))})
        return cls(rec, samples, ev, steps, turns, tasks, summ, score, doc["mounting"],
                   doc["calibration"], doc["messages"], q_body, doc,
                   repetitions=_table(reps, REPETITION_COLUMNS),
                   holds=_table(holds, HOLD_COLUMNS), running_steps=running,
                   exercise_sets=_table(ex_sets, EXERCISE_SET_COLUMNS))


def _set_row(st: dict[str, Any]) -> dict[str, Any]:
    """One row of :attr:`Analysis.exercise_sets` from a document's ``exercise.sets[]``."""
    d = {k: v for k, v in st.items() if k not in ("medians", "by_side", "items", "reasons",
                                                    "score_interval")}
    iv = st.get("score_interval") or (None, None)
    d.update(score_low=_num(iv[0]), score_high=_num(iv[1]),
             **{f"median_{k}": v for k, v in (st.get("medians") or {}).items()})
    return d


def _table(rows: list[dict[str, Any]], first: tuple[str, ...]):
    """Rows as a DataFrame, ``first`` columns first, then the others as they come; None
    values of ``_deg``/``_s``/``_dps`` columns as NaN; ``messages`` joined by "; "."""
    import pandas as pd

    cols = list(first) + [k for r in rows for k in r if k not in first]
    cols = list(dict.fromkeys(cols))
    out = []
    for r in rows:
        d = dict(r)
        if isinstance(d.get("messages"), list):
            d["messages"] = "; ".join(d["messages"])
        out.append({k: (math.nan if d.get(k) is None and k.endswith(("_deg", "_s", "_dps"))
                        else d.get(k)) for k in cols})
    return pd.DataFrame(out, columns=cols)


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def _gaps(t_s: np.ndarray, valid: np.ndarray) -> list[tuple[float, float]]:
    """(start_s, duration_s) of every run of missing samples."""
    bad = np.r_[False, ~valid, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(bad))
    out = []
    for a, b in zip(edges[0::2], edges[1::2], strict=True):
        t0 = float(t_s[a])
        t1 = float(t_s[b]) if b < len(t_s) else float(t_s[-1])
        out.append((t0, t1 - t0))
    return out


def _segments(rec: Recording, res, task: str | None, acc_body: np.ndarray,
              running=None) -> tuple[list[Segment], dict[str, Any]]:
    """Step 4: the segments, and the ``stairs`` object of the document. Without a task or
    marks, the running bouts of ``running`` (:func:`_running`) are ``run`` segments (first
    contact to last toe-off), before the stairs and walks, and the walking bouts are cut
    where they overlap them (stairs are searched in what is left)."""
    t0, t1 = float(rec.t_s[0]), float(rec.t_s[-1])
    if task:
        return [Segment(task, t0, t1, "option")], {
            "searched": False, "segments": [],
            "messages": ["not searched: the task was given with --task"]}
    if rec.marks:
        return ([Segment(name, float(a), float(b) if b is not None else t1, "annotation")
                 for name, a, b in rec.marks],
                {"searched": False, "segments": [],
                 "messages": ["not searched: the capture's task marks say the tasks"]})
    from sacrum.scoring.tasks import find_stairs

    runs = []
    for b in (running[1] if running else []):
        if b.mode == "run":
            ends = [s.t_to_s for s in running[0] if s.bout == b.index and s.mode == "run"]
            runs.append(Segment("run", b.t_start_s, max(ends, default=b.t_end_s), "detected"))
    pieces = [p for bout in res.gait.bouts for p in _cut(bout.t_start_s, bout.t_end_s, runs)]
    walks = [Segment("walk", a, b, "detected") for a, b in pieces]
    if not walks:
        return runs, {"searched": False, "segments": [],
                      "messages": ["not searched: no walking bouts were found"]}
    if runs:  # the running is no data to the stairs finder (its impacts are no height)
        acc_body = acc_body.copy()
        for r in runs:
            acc_body[(res.t_s >= r.t_start_s) & (res.t_s <= r.t_end_s + 0.5)] = np.nan
    found = find_stairs(res.t_s, acc_body, pressure_hpa=rec.pressure_hpa,
                        bouts=pieces if runs else res.gait.bouts)
    stairs = [Segment(f"stairs-{f.direction}", f.t_start_s, f.t_end_s, "detected",
                      f.confidence, f.evidence) for f in found]
    return runs + stairs + walks, {"searched": True, "barometer": rec.pressure_hpa is not None,
                            "segments": [dataclasses.asdict(f) for f in found],
                            "messages": list(found.messages)}


def _cut(t0: float, t1: float, runs: list[Segment]) -> list[tuple[float, float]]:
    """[t0, t1] without the ``runs`` segments' spans: the pieces left, in order."""
    pieces = [(t0, t1)]
    for r in runs:
        pieces = [p for a, b in pieces
                  for p in ((a, min(b, r.t_start_s)), (max(a, r.t_end_s), b)) if p[1] > p[0]]
    return pieces


def _jsonable(x: Any) -> Any:
    """Plain JSON values: NaN and infinities become null, arrays lists."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, bool | np.bool_):
        return bool(x)
    if isinstance(x, int | np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        return float(x) if math.isfinite(x) else None
    if x is None or isinstance(x, str):
        return x
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _jsonable(dataclasses.asdict(x))
    return str(x)


def _mounting_doc(res, mount: str | None) -> tuple[dict[str, Any], list[str]]:
    msgs = []
    est = res.mounting
    doc: dict[str, Any] = {"source": "given" if est is None else "estimated", "spec": mount,
                           "q_sensor_to_body": res.q_sensor_to_body}
    if est is not None:
        doc.update(confidence=est.confidence, vertical_deg_sd=est.vertical_deg_sd,
                   forward_deg_sd=est.forward_deg_sd, forward_se_deg=est.forward_se_deg,
                   cue_spread_deg=est.cue_spread_deg,
                   settled_confidence=est.settled_confidence, vertical_source=est.vertical_source,
                   standing_s=est.standing_s, walking_s=est.walking_s, message=est.message)
        if est.confidence < LOW_MOUNTING_CONFIDENCE:
            cross = 100 * math.sin(math.radians(min(abs(est.forward_deg_sd), 90.0)))
            msgs.append(
                f"the mounting was estimated with low confidence ({est.confidence:.2f}; forward "
                f"±{est.forward_deg_sd:.1f}°): tilt and obliquity may mix by about {cross:.0f} % "
                "of each other (docs/pelvic-angles.md, 'Accuracy'); give --mount if it is known")
    else:
        doc.update(confidence=None, message="given")
    return doc, msgs


def _calibration_doc(res) -> tuple[dict[str, Any], list[str]]:
    cal = res.calibration
    if cal is None:
        why = (f"a standing period was rejected: {res.calibration_error}"
               if res.calibration_error else "no 2 s of quiet upright standing were found")
        return ({"calibrated": False, "error": res.calibration_error},
                [f"no standing calibration ({why}): tilt and obliquity, and so the "
                 "contralateral drop, are relative to the mounting's vertical, not to this "
                 "person's standing posture; start a recording with 2 s of quiet standing"])
    doc = {"calibrated": True, "reference": cal.reference,
           "tilt_offset_deg": math.degrees(cal.tilt_offset_rad),
           "obliquity_offset_deg": math.degrees(cal.obliquity_offset_rad),
           "samples": cal.samples, "sd_deg": math.degrees(cal.sd_rad),
           "q_sensor_to_body": cal.q_sensor_to_body, "error": res.calibration_error}
    if cal.reference == "walking":
        why = res.calibration_error or "no 2 s of quiet upright standing were found"
        return doc, [f"no standing calibration ({why}): tilt and obliquity are zeroed on "
                     f"their means over the straight-walking strides ({cal.samples} samples), "
                     "so the mean anterior tilt is not measured (null) and drops are measured "
                     "from the mean walking obliquity: the sum of the left and right drops "
                     "is right, but a left-right difference reads smaller (the mean is "
                     "level only in symmetric gait); start a recording with 2 s of quiet "
                     "standing"]
    return doc, []


def analyze(recording_or_path: Recording | str | os.PathLike, task: str | None = None,
            mount: str | None = None, bands: Bands | str | os.PathLike | None = None, *,
            check_units: bool = True, device_orientation: bool = False) -> Analysis:
    """Analyse a recording (the steps in the module docstring).

    Parameters
    ----------
    recording_or_path : Recording or str or os.PathLike
        A :class:`Recording` (:func:`load`), or a capture or IMU CSV to load.
    task : str, optional
        Analyse the whole recording as this task (e.g. ``"walk"``); default: the capture's
        task marks, else the walking bouts (and stairs) found.
    mount : str, optional
        The mounting as ``sacrum.signal.mounting.parse_mount`` reads it (``"recommended"``,
        ``"x=up,y=left,z=back"``); default: estimated from the recording.
    bands : Bands or str or os.PathLike, optional
        A :class:`~sacrum.scoring.score.Bands`, a bands file (docs/scoring.md) or None
        (the packaged bands).
    check_units : bool
        Refuse a CSV in g, °/s or ms (when a path is given).
    device_orientation : bool
        For a capture, the device's real-time quaternion instead of the host's offline
        filter on its samples (step 2; the default gives a capture and its CSV one answer).

    Returns
    -------
    Analysis

    Raises
    ------
    ValueError
        ``MountingError``, ``BandsError``, ``UnitsError``, ``CaptureError``, with a message
        that says what to do.
    """
    from sacrum.scoring import metrics
    from sacrum.scoring.tasks import to_body_frame
    from sacrum.signal.gait import events_in_bouts
    from sacrum.signal.mounting import parse_mount
    from sacrum.signal.pipeline import analyze_recording

    bands = bands if isinstance(bands, Bands) else load_bands(bands)
    q_body = parse_mount(mount) if mount else None
    rec = (recording_or_path if isinstance(recording_or_path, Recording)
           else load(recording_or_path, check_units=check_units))  # step 1
    recorded = rec.mounting if q_body is None else None   # the session's own (SPEC §5.2)
    if recorded is not None:
        q_body = np.asarray(recorded["q_sensor_to_body"], float)
    planned = [task] if task else [m[0] for m in rec.marks]
    find_run = not planned  # no task given or marked: running is found from the motion
    q_earth = rec.q_sensor_to_earth if device_orientation else None
    running_mount = None
    if q_body is None and ("run" in planned or find_run):  # the walking estimator refuses
        q_earth, q_body, running_mount = _running_mount(rec, q_earth,  # running
                                                        required="run" in planned)
    standing = None       # an exercise without walking: the mounting from the standing
    if q_body is None and any(_kind(p)[0] == "exercise" for p in planned):
        q_earth, q_body, standing = _exercise_mount(rec, q_earth)
    res = analyze_recording(rec.t_s, rec.acc_mps2, rec.gyr_radps, rec.rate_hz,  # step 2
                            q_sensor_to_earth=q_earth, q_sensor_to_body=q_body)
    events = events_in_bouts(res.events, res.gait.bouts)
    steps = metrics.step_metrics(res.t_s, res.angles_rad, events,  # step 3
                                 strides=res.gait.strides, turns=res.gait.turns)
    acc_body = metrics.body_acceleration(res.q_sensor_to_earth, rec.acc_mps2, res.heading_rad)
    gyr_body = to_body_frame(rec.gyr_radps, res.q_sensor_to_body)
    running = _running(res, rec) if "run" in planned or find_run else None

    messages: list[str] = []
    mounting, m = _mounting_doc(res, mount)
    if recorded is not None:
        mounting.update(source="recorded", spec=recorded["spec"],
                        recorded_source=recorded["source"],
                        message=f"recorded in the capture by the session that made it "
                                f"({recorded['spec'] or 'a quaternion'}, "
                                f"{recorded['source']}); give --mount to override")
    if running_mount is not None:
        mounting.update(source="estimated-running", confidence=None, message=running_mount)
    if standing is not None:
        mounting.update(source="estimated-standing", confidence=None,
                        message=standing["message"])
    messages += m
    calibration, m = _calibration_doc(res)
    messages += m

    segments, stairs_doc = _segments(rec, res, task, acc_body, running)  # step 4
    if standing is not None:
        segments = _after_standing(segments, standing["settled_s"])
    for seg in segments:
        if seg.task == "run" and seg.source == "detected":
            messages.append(f"run found from the motion at {seg.t_start_s:.1f}–"
                            f"{seg.t_end_s:.1f} s (a flight after each contact; "
                            "docs/running.md): analysed as running, not as walking")
        if seg.confidence is not None:
            messages.append(
                f"{seg.task} found from the motion at {seg.t_start_s:.1f}–{seg.t_end_s:.1f} s "
                f"(confidence {seg.confidence:.2f}): its steps are analysed as "
                f"{seg.task}, not as level walking")
    task_of = [_task_at(segments, s.t_ic_s) for s in steps]
    outside = sum(t is None for t in task_of)
    if outside:
        messages.append(f"{outside} of {len(steps)} steps lie outside every task segment and are "
                        "in no summary (steps[].task is null)")
    if not steps:
        if any(_kind(g.task)[0] != "steps" for g in segments):
            messages.append("no walking found: no steps were detected in this recording, so "
                            "there are no walking metrics (the single-leg stance, "
                            "step-down/up, exercise and running tasks have their own)")
        else:
            messages.append("no walking found: no steps were detected in this recording, so "
                            "there are no metrics and no score")

    valid = np.isfinite(rec.acc_mps2).all(axis=1) & np.isfinite(rec.gyr_radps).all(axis=1)
    gaps = _gaps(rec.t_s, valid)
    turns = metrics.turn_metrics(res.gait.turns, res.events)
    turn_task = [_turn_task(segments, tr.t_start_s, tr.t_end_s, res.gait.max_break_s)
                 for tr in turns]
    angle_ref = angle_reference(calibration)
    names = list(dict.fromkeys(g.task for g in segments))
    tasks_doc, scores = [], []
    run_steps: list[dict[str, Any]] = []
    for name in names:  # step 5
        segs = [g for g in segments if g.task == name]
        kind = _kind(name)[0]
        if kind == "exercise":
            entry, ts = _exercise_task(name, segs, res, rec, bands, gaps)
        elif kind == "run":
            entry, ts, mine_run = _run_task(name, segs, rec, gaps, running)
            run_steps += mine_run
        else:
            entry, ts = _task(name, segs, segments, steps, task_of, res, rec, acc_body,
                              gyr_body, bands, gaps)
        entry["angle_reference"] = "start" if entry["kind"] == "exercise" else angle_ref
        if entry["kind"] == "steps":
            entry["turns_summary"] = metrics.summarize_turns(
                [tr for tr, tk in zip(turns, turn_task, strict=True) if tk == name])
        tasks_doc.append(entry)
        scores.append(ts)
        messages += [f"{name}: {x}" for x in entry["messages"]]

    session = score_session(scores)  # step 6
    if session.score is None and len(scores) > 1:
        messages.append(session.message)
    steps_doc = []
    for i, (s, name) in enumerate(zip(steps, task_of, strict=True)):
        d = dataclasses.asdict(s)
        steps_doc.append({"index": i, "task": name, "stance_side": d.pop("stance_side"),
                            "t_ic": d.pop("t_ic_s"), **d})

    stepping = [t for t in tasks_doc if t["kind"] == "steps" and t["n_steps"]]
    head = next((t for t in stepping if t["task"] == "walk"), None) or max(
        stepping, key=lambda t: t["n_steps_used"] or 0, default=None)
    if head is None:  # no walking: a run task's metrics are the headline
        head = max((t for t in tasks_doc if t["kind"] == "run" and t["n_steps"]),
                   key=lambda t: t["n_steps_used"] or 0, default=None)
    summary = {"metrics_task": head["task"] if head else None, "cadence_spm": None,
               "contralateral_drop_deg": {"L": None, "R": None},
               "symmetry_index": {"drop": None, "obliquity_rom": None, "step_time": None}}
    if head:
        summary.update({k: v for k, v in head.items()
                        if k not in ("task", "kind", "side", "segments", "score",
                                     "score_interval", "score_interval_level",
                                     "score_message", "components", "messages", "curves",
                                     "gaps", "running_bouts")})
    summary.update(score=session.score, score_interval=_iv(session.interval),
                   score_interval_level=session.interval_level, score_message=session.message,
                   score_n_steps_used=session.n_steps_used, angle_reference=angle_ref,
                   components={k: c.as_dict() | {"by_task": c.value}
                               for k, c in session.components.items()},
                   tasks=tasks_doc)

    if calibration.get("reference") == "walking":    # the zero is the walking mean
        for part in (summary, *tasks_doc):
            if "mean_tilt_deg" in part:
                part["mean_tilt_deg"] = None
    doc = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "sacrum_version": __version__,
        "input": {"path": rec.path, "kind": rec.kind, "samples": len(rec.t_s),
                  "duration_s": float(rec.t_s[-1] - rec.t_s[0]), "rate_hz": rec.rate_hz,
                  "task_marks": len(rec.marks),
                  "orientation": ("device" if device_orientation
                                  and rec.q_sensor_to_earth is not None else "host")},
        "mounting": mounting,
        "calibration": calibration,
        "loss": {"gaps": len(gaps)} | rec.loss | {"gap_list": gaps[:MAX_GAPS_LISTED]},
        "bands": {"origin": bands.origin, "tasks": list(bands.tasks),
                  "min_steps_per_side": bands.min_steps_per_side,
                  "interval_level": bands.interval.level,
                  "max_interval_width": bands.interval.max_width_points,
                  "n_bootstrap": bands.interval.n_bootstrap, "seed": bands.interval.seed,
                  "min_hold_s": (bands.single_leg_stance.min_hold_s
                                 if bands.single_leg_stance else None),
                  "min_repetitions": (bands.repetitions.min_repetitions
                                      if bands.repetitions else None)}
                 | _other_bands(tasks_doc),
        "stairs": stairs_doc,
        "steps": steps_doc,
        "running_steps": [{"index": i} | x for i, x in enumerate(run_steps)],
        "turns": [dataclasses.asdict(tr) | {"task": tk}
                  for tr, tk in zip(turns, turn_task, strict=True)],
        "summary": summary,
        "messages": messages,
    }
    return Analysis._build(rec, res, _jsonable(doc), events, segments)


def _task_at(segments: list[Segment], t_s: float) -> str | None:
    """The task of the first segment that holds ``t_s`` (None: none does)."""
    seg = next((g for g in segments if g.t_start_s <= t_s <= g.t_end_s), None)
    return seg.task if seg else None


def _turn_task(segments: list[Segment], t0_s: float, t1_s: float,
               max_break_s: float) -> str | None:
    """The task of a turn [t0_s, t1_s] (s): that of the segment holding its midpoint; else
    of the segment it overlaps most; else of the two segments it lies between, when they
    are one task and the turn is at most ``max_break_s`` (the gait stage's longest break
    inside a bout) after the one and before the other (a U-turn walked in steps too soft
    to keep the walk one bout); else None."""
    name = _task_at(segments, 0.5 * (t0_s + t1_s))
    if name is not None:
        return name
    overlap = [(min(t1_s, g.t_end_s) - max(t0_s, g.t_start_s), g.task) for g in segments]
    best = max(overlap, default=(0.0, None))
    if best[0] > 0:
        return best[1]
    before = [g for g in segments if g.t_end_s <= t0_s]
    after = [g for g in segments if g.t_start_s >= t1_s]
    if not (before and after):
        return None
    a = max(before, key=lambda g: g.t_end_s)
    b = min(after, key=lambda g: g.t_start_s)
    if (a.task == b.task and t0_s - a.t_end_s <= max_break_s
            and b.t_start_s - t1_s <= max_break_s):
        return a.task
    return None


def _task(name: str, segs: list[Segment], segments: list[Segment], steps, task_of, res,
          rec: Recording, acc_body: np.ndarray, gyr_body: np.ndarray, bands: Bands,
          gaps) -> tuple[dict[str, Any], TaskScore]:
    """Summary and score of one task (step 5)."""
    from sacrum.scoring import metrics

    kind, rep_kind, side = task_kind(name)
    mine = [s for s, t in zip(steps, task_of, strict=True) if t == name]
    seg_doc = [{"t_start_s": g.t_start_s, "t_end_s": g.t_end_s, "source": g.source,
                "n_steps": sum(g.t_start_s <= s.t_ic_s <= g.t_end_s for s in mine)}
               | ({"confidence": g.confidence, "evidence": g.evidence}
                  if g.confidence is not None else {})
               for g in segs]
    msgs = []
    in_gaps = [(a, d) for a, d in gaps
               if any(a + d >= g.t_start_s and a <= g.t_end_s for g in segs)]
    if in_gaps:
        msgs.append(f"{len(in_gaps)} gap{'s' if len(in_gaps) > 1 else ''} in the data inside the "
                    f"task ({sum(d for _, d in in_gaps):.2f} s in all, longest "
                    f"{max(d for _, d in in_gaps):.2f} s); see steps[].excluded")
    by_side = {s: sum(st.stance_side == s and st.excluded is None for st in mine) for s in "LR"}
    entry: dict[str, Any] = {"task": name, "kind": kind, "side": side, "segments": seg_doc,
                             "n_steps": len(mine), "n_steps_by_side": by_side, "gaps": in_gaps}
    if kind != "steps":
        return _held_task(entry, kind, rep_kind, side, segs, res, rec, acc_body, gyr_body,
                          bands, msgs)
    if not mine:
        span = ", ".join(f"{g.t_start_s:.1f}–{g.t_end_s:.1f} s" for g in segs)
        why = f"no steps found in this task ({span})"
        if name == "walk":
            why += ": was there walking?"
        msgs.append(why)
        ts = TaskScore(name, None, {}, 0, bands.min_steps_per_side, f"no score: {why}", by_side)
        entry.update(n_steps_used=0, score=None, score_interval=None, score_message=ts.message,
                     components={}, messages=msgs)
        return entry, ts
    keep = np.zeros(len(rec.t_s), bool)
    for g in segs:
        keep |= ((rec.t_s >= g.t_start_s - SEGMENT_MARGIN_S)
                 & (rec.t_s <= g.t_end_s + SEGMENT_MARGIN_S))
    angles = np.where(keep[:, None], res.angles_rad, np.nan)
    acc = np.where(keep[:, None], acc_body, np.nan)
    strides = [st for st in res.gait.strides if _task_at(segments, st.t_start_s) == name]
    summ = metrics.summarize_walk(mine, res.t_s, angles, acc, strides=strides)
    ts = score_walk(summ, bands, task=name, steps=mine)
    found = [g.confidence for g in segs if g.confidence is not None]
    if found:
        ts.message += (f"; {name} found from the motion, not marked (confidence "
                       + ", ".join(f"{c:.2f}" for c in found) + ")")
    fields = (dataclasses.asdict(summ) if dataclasses.is_dataclass(summ) else dict(vars(summ)))
    msgs += list(fields.pop("messages", []) or [])
    if ts.score is None:
        msgs.append(ts.message)
    entry.update(fields)
    entry.update(n_steps_by_side=by_side, score=ts.score, score_interval=_iv(ts.interval),
                 score_interval_level=ts.interval_level, score_message=ts.message,
                 components={k: c.as_dict() for k, c in ts.components.items()}, messages=msgs)
    return entry, ts


def _iv(interval) -> list[float] | None:
    return None if interval is None else [float(interval[0]), float(interval[1])]


#: What the angles are measured from, by calibration (``angle_reference`` in the document).
ANGLE_REFERENCES = {
    "standing": "the standing calibration",
    "walking": "the walking mean (no standing calibration): relative angles",
    "sensor": "the sensor's mounting (no calibration): relative angles",
    "start": "the posture at the start of each repetition or hold (exercises: "
             "docs/exercises.md, 'Angles in any posture')",
}


def angle_reference(calibration: dict[str, Any]) -> str:
    """``"standing"`` (tilt and obliquity zeroed in quiet standing), ``"walking"`` (on the
    mean over the straight-walking strides: angles are relative to the walking posture) or
    ``"sensor"`` (not zeroed: relative to the mounting's vertical)."""
    if not calibration.get("calibrated"):
        return "sensor"
    return "walking" if calibration.get("reference") == "walking" else "standing"


def _held_task(entry: dict[str, Any], kind: str, rep_kind: str | None, side: str,
               segs: list[Segment], res, rec: Recording, acc_body: np.ndarray,
               gyr_body: np.ndarray, bands: Bands, msgs: list[str],
               ) -> tuple[dict[str, Any], TaskScore]:
    """Step 5 for single-leg stance and step-down/up: the task's own analysis on the
    samples of each of its segments."""
    from sacrum.scoring import tasks

    name = entry["task"]
    parts = []
    for g in segs:
        m = (rec.t_s >= g.t_start_s) & (rec.t_s <= g.t_end_s)
        parts.append((g, res.t_s[m], res.angles_rad[m], gyr_body[m], acc_body[m]))
    multi = len(segs) > 1
    if kind == "stance":
        holds = []
        for g, t, ang, gyr, acc in parts:
            if len(t) < 3:
                msgs.append(f"no samples in the segment at {g.t_start_s:.1f} s")
                continue
            r = tasks.single_leg_stance(t, ang, gyr, side, acc_body_mps2=acc)
            holds.append(r.to_dict_deg() | {"t_start_s": g.t_start_s})
            msgs += [f"trial at {g.t_start_s:.1f} s: {x}" if multi else x for x in r.messages]
        best = max(holds, key=lambda h: h["hold_s"] if math.isfinite(h["hold_s"]) else -1.0,
                   default=None)
        summ = {k: v for k, v in (best or {}).items() if k not in ("messages", "side")}
        summ |= {"n_trials": len(holds), "trials": holds}
        ts = score_single_leg_stance(summ, bands, task=name)
        if len(holds) > 1:
            ts.message += f"; the trial with the longest stable hold of {len(holds)}"
        entry["single_leg_stance"] = summ
    else:
        reps = []
        for g, t, ang, _gyr, acc in parts:
            if len(t) < 3:
                msgs.append(f"no samples in the segment at {g.t_start_s:.1f} s")
                continue
            found = tasks.repetitions(t, ang, acc, rep_kind, side)
            reps += [r.to_dict_deg() for r in found]
            msgs += [f"segment at {g.t_start_s:.1f} s: {x}" if multi else x
                     for x in found.messages]
        summ = repetition_summary(reps)
        ts = score_repetitions(summ, bands, task=name)
        entry["repetitions"] = summ
    if ts.score is None:
        msgs.append(ts.message)
    entry.update(n_steps_used=0, score=ts.score, score_interval=None, score_message=ts.message,
                 components={k: c.as_dict() for k, c in ts.components.items()}, messages=msgs)
    return entry, ts


def _kind(name: str) -> tuple[str, str | None, str | None]:
    """:func:`task_kind`, and ``("exercise", None, side)`` for an exercise task
    (``sacrum.scoring.exercises.EXERCISES``: side "L"/"R" from its name, None for both legs
    or alternating), ``("run", None, None)`` for ``run``."""
    if name == "run":
        return "run", None, None
    from sacrum.scoring.exercises.catalogue import EXERCISES

    ex = EXERCISES.get(name)
    if ex is not None:
        return "exercise", None, ex.side if ex.side in ("L", "R") else None
    return task_kind(name)


def _other_bands(tasks_doc: list[dict[str, Any]]) -> dict[str, Any]:
    """``bands.running`` and ``bands.exercises``: the packaged bands of those tasks, when
    the analysis has one (``--bands`` is the walking bands' file only)."""
    out: dict[str, Any] = {}
    kinds = {t["kind"] for t in tasks_doc}
    if "run" in kinds:
        from sacrum.scoring.running import load_running_bands

        rb = load_running_bands()
        out["running"] = {"origin": rb.origin, "tasks": list(rb.tasks),
                          "min_steps_per_side": rb.min_steps_per_side}
    if "exercise" in kinds:
        out["exercises"] = {"origin": "packaged exercise_bands.toml", "provisional": True}
    return out


def _levelled_mount(res) -> np.ndarray:
    """The mounting the exercise and running stages use: levelled by the standing
    calibration when there is one (the body axes anatomical), else the one given or
    estimated (docs/exercises.md, "Calibration")."""
    cal = res.calibration
    if cal is not None and cal.reference == "standing":
        return np.asarray(cal.q_sensor_to_body, float)
    return np.asarray(res.q_sensor_to_body, float)


def _running_mount(rec: Recording, q_earth, required: bool = True,
                   ) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """The orientation and the mounting of a session with a run task and no ``--mount``:
    ``sacrum.signal.running.estimate_running_mount`` on the running contacts (the walking
    estimator does not find forward in running); MountingError (give --mount) when it
    cannot. Not ``required`` (running found from the motion): the mounting is that
    estimate only when the session has a running bout and the estimate succeeds, else
    (q, None, None) and the walking estimator finds it."""
    from sacrum.signal.mounting import MountingError
    from sacrum.signal.orientation import orientation_offline
    from sacrum.signal.running import detect_running, estimate_running_mount

    q = (np.asarray(q_earth, float) if q_earth is not None
         else orientation_offline(rec.acc_mps2, rec.gyr_radps, rec.rate_hz))
    ident = np.array([1.0, 0.0, 0.0, 0.0])   # IC and toe-off do not depend on it
    found, bouts = detect_running(rec.t_s, rec.acc_mps2, q, ident, rec.rate_hz)
    if not required and not any(b.mode == "run" for b in bouts):
        return q, None, None
    try:
        mount = estimate_running_mount(rec.t_s, rec.acc_mps2, q, found)
    except ValueError as e:
        if not required:
            return q, None, None
        raise MountingError(f"the mounting cannot be found from the running: {e}") from None
    n = sum(s.mode == "run" for s in found)
    return q, mount, (f"estimated from {n} running contacts (the braking-propulsion "
                      "direction of each contact; sacrum.signal.running."
                      "estimate_running_mount)")


def _exercise_mount(rec: Recording, q_earth) -> tuple[np.ndarray, np.ndarray | None,
                                                      dict[str, Any] | None]:
    """The orientation and, for an exercise session without ``--mount`` and without
    walking, the mounting from the standing calibration at its start
    (``sacrum.scoring.exercises.posture.mount_from_standing``): ``(q, q_sensor_to_body,
    standing)``, standing = {t_start_s, t_end_s, settled_s, message}. With walking the
    mounting is the walking estimator's, as for a walk: ``(q, None, None)``. With
    neither, MountingError saying what to do."""
    from sacrum.scoring.exercises.posture import (
        StandingMountError,
        mount_from_standing,
        settled_after_standing,
    )
    from sacrum.signal.mounting import MountingError, estimate_mounting
    from sacrum.signal.orientation import orientation_offline

    q = (np.asarray(q_earth, float) if q_earth is not None
         else orientation_offline(rec.acc_mps2, rec.gyr_radps, rec.rate_hz))
    try:
        estimate_mounting(q, rec.acc_mps2, rec.gyr_radps, rec.rate_hz)
    except MountingError as walking:
        try:
            q_body, t0, t1 = mount_from_standing(rec.acc_mps2, rec.gyr_radps, rec.rate_hz)
        except StandingMountError as e:
            raise MountingError(f"the mounting cannot be found: {walking}; and {e}") from None
    else:
        return q, None, None
    settled = settled_after_standing(rec.acc_mps2, rec.gyr_radps, rec.rate_hz, t1)
    t_first = float(rec.t_s[0])
    msg = (f"estimated from the standing calibration at {t0:.1f}–{t1:.1f} s (no walking): "
           "up from gravity there, forward as the mounting guide has it (the board flat on "
           "the sacrum, face out: hardware/mounting.json); a board worn face in needs "
           "--mount")
    return q, q_body, {"t_start_s": t_first + t0, "t_end_s": t_first + t1,
                       "settled_s": None if settled is None else t_first + settled,
                       "message": msg}


def _after_standing(segments: list[Segment], settled_s: float | None) -> list[Segment]:
    """Exercise tasks done lying start where the body settled after the standing
    calibration (the standing and the lying down are no part of the exercise)."""
    from sacrum.scoring.exercises.catalogue import EXERCISES

    if settled_s is None:
        return segments
    out = []
    for g in segments:
        ex = EXERCISES.get(g.task)
        if (ex is not None and ex.posture != "upright" and g.t_start_s < settled_s
                < g.t_end_s):
            g = dataclasses.replace(g, t_start_s=settled_s)
        out.append(g)
    return out


def _segment_samples(rec: Recording, segs: list[Segment]) -> list[tuple[Segment, np.ndarray]]:
    return [(g, (rec.t_s >= g.t_start_s) & (rec.t_s <= g.t_end_s)) for g in segs]


#: Why an exercise task's score has no interval (its sets have none: holds).
EXERCISE_NO_INTERVAL = ("no interval: no set of the task has one (a hold is one "
                        "measurement, with no repetitions to resample: docs/exercises.md)")


def _exercise_task(name: str, segs: list[Segment], res, rec: Recording, bands: Bands,
                   gaps) -> tuple[dict[str, Any], TaskScore]:
    """Step 5 for an exercise task: ``sacrum.scoring.exercises.analyse_exercise`` on the
    samples of each segment (the body orientation of the levelled mounting), repetitions
    and sets numbered over the segments, the task score the mean of its set scores."""
    from sacrum.scoring.exercises import analyse_exercise, exercise, load_exercise_bands
    from sacrum.scoring.exercises.posture import body_orientation, body_rates

    ex = exercise(name)
    ex_bands = load_exercise_bands()
    qsb = _levelled_mount(res)
    side = ex.side if ex.side in ("L", "R") else None
    msgs: list[str] = []
    in_gaps = [(a, d) for a, d in gaps
               if any(a + d >= g.t_start_s and a <= g.t_end_s for g in segs)]
    if in_gaps:
        msgs.append(f"{len(in_gaps)} gap{'s' if len(in_gaps) > 1 else ''} in the data inside "
                    f"the task ({sum(d for _, d in in_gaps):.2f} s in all)")
    reps, holds, sets, adjustments, postures = [], [], [], [], []
    set_objs = []
    measured = None
    multi = len(segs) > 1
    for g, m in _segment_samples(rec, segs):
        if m.sum() < 3:
            msgs.append(f"no samples in the segment at {g.t_start_s:.1f} s")
            continue
        qb = body_orientation(res.q_sensor_to_earth[m], qsb)
        out = analyse_exercise(name, rec.t_s[m], qb, body_rates(rec.gyr_radps[m], qsb),
                               body_rates(rec.acc_mps2[m], qsb), rate_hz=rec.rate_hz,
                               bands=ex_bands)
        n_sets = len({s["set_index"] for s in sets})
        for r in out.repetitions:
            d = r.to_dict_deg()
            peak = d.pop("peak_rad", math.nan)
            d.update(index=len(reps), set_index=d["set_index"] + n_sets,
                     peak_deg=math.degrees(peak) if peak is not None else math.nan)
            reps.append(d)
        for h in out.holds:
            d = h.to_dict_deg()
            d.update(index=len(holds))
            holds.append(d)
        for st in out.sets:
            d = _jsonable({k: v for k, v in dataclasses.asdict(st).items()
                           if k != "replicates"})
            d["set_index"] = st.set_index + n_sets
            d["score_interval"] = _iv(st.score_interval)
            sets.append(d)
            set_objs.append(st)
        adjustments += [dataclasses.asdict(a) for a in out.adjustments]
        postures.append(out.posture)
        measured = measured or out.measured
        msgs += [f"segment at {g.t_start_s:.1f} s: {x}" if multi else x for x in out.messages]
    full = [r for r in reps if not r["partial"]]
    scored = [s["score"] for s in sets if s["score"] is not None]
    score = float(np.mean(scored)) if scored else None
    interval, replicates, level = _exercise_interval(
        [st for st in set_objs if st.score is not None])
    if score is not None:
        what = (f"{len(holds)} hold{'s' if len(holds) != 1 else ''}" if ex.held
                else f"{len(full)} repetitions")
        iv_note = (EXERCISE_NO_INTERVAL if interval is None else
                   f"{100 * level:.0f} % interval {interval[0]:.0f}–{interval[1]:.0f} from "
                   "the sets' resamples of their repetitions")
        message = (f"the mean of {len(scored)} set score{'s' if len(scored) > 1 else ''} "
                   f"({what}; provisional bands, docs/exercises.md); {iv_note}")
    else:
        why = "; ".join(r for s in sets for r in s.get("reasons", []) if r) or (
            "no hold found" if ex.held else "no full repetitions found")
        message = f"no score: {why}"
        msgs.append(message)
    weight = 2.0 * bands.min_steps_per_side
    ts = TaskScore(name, score, {}, 0, bands.min_steps_per_side, message, {},
                   session_weight=weight,
                   basis=(f"{len(holds)} holds" if ex.held else f"{len(full)} repetitions"),
                   interval=interval, replicates=replicates, interval_level=level)
    exercise_doc: dict[str, Any] = {
        "exercise": ex.base, "family": ex.family, "held": ex.held,
        "posture": next((p for p in postures if p), None), "expected_posture": ex.posture,
        "measured": measured,
        "metrics": {mt.name: mt.meaning for mt in ex.metrics},
        "n_repetitions": len(full), "n_partial": len(reps) - len(full),
        "hold_s": (max((h["hold_s"] for h in holds), default=None) if ex.held else None),
        "n_holds": len(holds) if ex.held else None,
        "n_sets": len(sets), "n_adjustments": len(adjustments),
        "repetitions": reps, "holds": holds, "sets": sets, "adjustments": adjustments,
        "band": _exercise_band_doc(ex_bands.get("control", {}).get(ex.base)),
        "provisional": True}
    entry = {"task": name, "kind": "exercise", "side": side,
             "segments": [{"t_start_s": g.t_start_s, "t_end_s": g.t_end_s, "source": g.source,
                           "n_steps": 0} for g in segs],
             "n_steps": 0, "n_steps_used": 0, "n_steps_by_side": {"L": 0, "R": 0},
             "gaps": in_gaps, "exercise": _jsonable(exercise_doc), "score": score,
             "score_interval": _iv(interval),
             "score_interval_level": level if interval is not None else None,
             "score_message": message,
             "components": {}, "messages": msgs}
    return entry, ts


def _running(res, rec: Recording) -> tuple[list, list, list]:
    """The running events (``sacrum.signal.running.detect_running``: steps, bouts) and
    per-step metrics (``sacrum.scoring.running.running_step_metrics``) over the whole
    recording on the analysis' orientation, calibrated angles and levelled mounting."""
    from sacrum.scoring.running import running_step_metrics
    from sacrum.signal.running import detect_running, level_acceleration

    qsb = _levelled_mount(res)
    q = np.asarray(res.q_sensor_to_earth, float)
    found, bouts = detect_running(rec.t_s, rec.acc_mps2, q, qsb, rec.rate_hz)
    per_step = running_step_metrics(res.t_s, res.angles_rad,
                                    level_acceleration(q, rec.acc_mps2, qsb), found)
    return found, bouts, per_step


def _exercise_band_doc(ctrl: dict | None) -> dict[str, Any] | None:
    """The band the sets' own metric was scored against, as the document carries it (the
    report draws it from here, not from a file of its own): None without one."""
    if not ctrl:
        return None
    return {"metric": str(ctrl["metric"]), "normal_max": float(ctrl["normal_max"]),
            "poor_max": float(ctrl["poor_max"]), "source": str(ctrl.get("source", ""))}


def _exercise_interval(scored_sets: list) -> tuple[tuple[float, float] | None,
                                                   np.ndarray | None, float]:
    """The interval of an exercise task's score (the mean of its scored sets): the sets'
    bootstrap scores averaged resample by resample (a set without them, a hold, counts
    with its score; its repetitions are not those of another set), then their central
    interval, widened to hold the score. (None, None, level) when no set has them."""
    level = next((st.score_interval_level for st in scored_sets), 0.90)
    with_reps = [st for st in scored_sets if st.replicates is not None]
    if not with_reps or len({len(st.replicates) for st in with_reps}) != 1:
        return None, None, level
    n = len(with_reps[0].replicates)
    reps = np.mean([st.replicates if st.replicates is not None else np.full(n, st.score)
                    for st in scored_sets], axis=0)
    good = reps[np.isfinite(reps)]
    if len(good) < 0.5 * n:
        return None, reps, level
    score = float(np.mean([st.score for st in scored_sets]))
    half = 50.0 * (1.0 - level)
    lo, hi = (float(x) for x in np.percentile(good, [half, 100.0 - half]))
    return (min(lo, score), max(hi, score)), reps, level


def _run_task(name: str, segs: list[Segment], rec: Recording, gaps, running,
              ) -> tuple[dict[str, Any], TaskScore, list[dict]]:
    """Step 5 for ``run``: of :func:`_running`'s steps, the running steps whose IC falls in
    the task's segments summarised (``summarize_run``) and scored (``score_run``, the
    running bands). Walking steps in the task are counted, not measured."""
    from sacrum.scoring.running import load_running_bands, score_run, summarize_run
    from sacrum.signal.running import running_rate_ok

    found, bouts, per_step = running

    def inside(t: float) -> bool:
        return any(g.t_start_s <= t <= g.t_end_s for g in segs)

    mine = [s for s in per_step if inside(s.t_ic_s)]
    walking = sum(s.mode == "walk" and inside(s.t_ic_s) for s in found)
    n_detected = sum(s.mode == "run" and inside(s.t_ic_s) for s in found)
    rb = load_running_bands()
    summ = summarize_run(mine, min_steps_per_side=rb.min_steps_per_side)
    ts = score_run(summ, rb, steps=mine)  # the interval: a bootstrap of these steps
    ts.task = name
    msgs: list[str] = []
    ok, why_rate = running_rate_ok(rec.rate_hz)
    if not ok:
        msgs.append(why_rate)
    if walking:
        msgs.append(f"{walking} of the {walking + n_detected} steps in the task were walking "
                    "(no flight phase): not in the running metrics, which are over the "
                    "running bouts only")
    if not mine:
        msgs.append("no running steps found in this task (running here means a flight "
                    "phase: docs/running.md)")
    in_gaps = [(a, d) for a, d in gaps
               if any(a + d >= g.t_start_s and a <= g.t_end_s for g in segs)]
    if in_gaps:
        msgs.append(f"{len(in_gaps)} gap{'s' if len(in_gaps) > 1 else ''} in the data inside "
                    f"the task ({sum(d for _, d in in_gaps):.2f} s in all); see "
                    "running_steps[].excluded")
    if ts.score is None:
        msgs.append(ts.message)
    fields = dataclasses.asdict(summ)
    entry: dict[str, Any] = {
        "task": name, "kind": "run", "side": None,
        "segments": [{"t_start_s": g.t_start_s, "t_end_s": g.t_end_s, "source": g.source,
                      "n_steps": sum(g.t_start_s <= s.t_ic_s <= g.t_end_s for s in mine)}
                     for g in segs],
        **fields, "n_steps_excluded": summ.n_steps - summ.n_steps_used,
        "n_walking_steps": walking, "rate_ok": ok, "rate_message": why_rate,
        "running_bouts": [dataclasses.asdict(b) for b in bouts
                          if b.mode == "run" and inside(b.t_start_s)],
        "gaps": in_gaps, "score": ts.score, "score_interval": _iv(ts.interval),
        "score_interval_level": ts.interval_level if ts.interval else None,
        "score_message": ts.message,
        "components": {k: c.as_dict() for k, c in ts.components.items()}, "messages": msgs}
    steps_doc = []
    for s in mine:
        d = dataclasses.asdict(s)
        steps_doc.append({"task": name, "stance_side": d.pop("stance_side"),
                          "t_ic": d.pop("t_ic_s"), **d})
    return entry, ts, steps_doc


def pool_sessions(docs: list[dict[str, Any] | Analysis], task: str = "walk",
                  bands: Bands | str | os.PathLike | None = None) -> dict[str, Any]:
    """One score for several recordings of one person and day (e.g. the trials of a walk
    test: walk 10 m, turn, walk back, repeated), from their analysis documents.

    The ``task`` steps of every document (``steps[]``, as :class:`metrics.StepMetrics`)
    are pooled and summarised together (``metrics.summarize_walk``; the per-step values:
    drop, ranges, times, their symmetry and variability), and scored with its interval
    over the pooled steps (``score.score_walk``). Each recording's step and stride times
    are first scaled so that its mean step time is the pooled one: a trial walked faster
    than another is not stride-to-stride variability (the pooled time CVs are the
    within-recording ones; the pooled mean and cadence are unchanged). Regularity and
    harmonic ratios need the samples, which the documents do not keep: they are each
    document's value, averaged weighted by its used steps (said in the messages); stance,
    swing and the curves are not pooled.

    Parameters
    ----------
    docs : list of dict or Analysis
        The recordings' analyses (:func:`analyze`) or their documents.
    task : str
        The task pooled.
    bands : Bands or str or os.PathLike, optional
        As :func:`analyze`.

    Returns
    -------
    dict
        ``task``, ``n_recordings``, ``n_steps``, ``n_steps_used``, ``n_steps_by_side``,
        ``score``, ``score_interval``, ``score_interval_level``, ``score_message``,
        ``components``, ``contralateral_drop_deg``, ``side_difference_deg``,
        ``symmetry_index``, ``variability``, ``cadence_spm``, ``turns_summary``,
        ``messages`` (plain JSON values, as in the document's ``summary.tasks[]``).
    """
    from sacrum.scoring import metrics

    docs = [d.to_json() if isinstance(d, Analysis) else d for d in docs]

    bands = bands if isinstance(bands, Bands) else load_bands(bands)
    names = {f.name for f in dataclasses.fields(metrics.StepMetrics)}
    steps, weights, entries, turns = [], [], [], []
    for doc in docs:
        mine = []
        for x in steps_of(doc):
            if x.get("task") != task:
                continue
            d = {k: (math.nan if v is None else v) for k, v in x.items() if k in names}
            d["excluded"] = x.get("excluded")
            d["t_ic_s"] = x["t_ic"]
            mine.append(metrics.StepMetrics(**d))
        steps.append(mine)
        entry = next((t for t in doc["summary"]["tasks"] if t["task"] == task), None)
        if entry is not None:
            entries.append(entry)
            weights.append(sum(s.excluded is None for s in mine))
        turns += [metrics.TurnMetrics(**{k: v for k, v in tr.items() if k != "task"})
                  for tr in doc.get("turns", []) if tr.get("task") == task]
    steps = _same_pace(steps)
    summ = metrics.summarize_walk(steps, np.zeros(0), np.zeros((0, 3)))
    msgs = [m for m in summ.messages if not m.startswith(("regularity", "harmonic", "stance",
                                                          "left-stance curves",
                                                          "right-stance curves"))]
    for field_name in ("regularity", "harmonic_ratio"):
        pooled = {}
        for key in getattr(summ, field_name):
            vals = [(e.get(field_name, {}).get(key), w) for e, w in zip(entries, weights,
                                                                       strict=True)]
            vals = [(v, w) for v, w in vals if v is not None and w > 0]
            pooled[key] = (sum(v * w for v, w in vals) / sum(w for _, w in vals)
                           if vals else math.nan)
        setattr(summ, field_name, pooled)
    msgs.append(f"pooled over {len(docs)} recordings: step and stride times scaled to one "
                "pace (variability within recordings); regularity and harmonic ratios are "
                "the recordings' values averaged by used steps; stance, swing and curves are "
                "per recording")
    ts = score_walk(summ, bands, task=task, steps=steps)
    if ts.score is None:
        msgs.append(ts.message)
    out = {"task": task, "n_recordings": len(docs), "n_steps": len(steps),
           "n_steps_used": summ.n_steps_used, "n_steps_by_side": ts.n_steps_by_side,
           "score": ts.score, "score_interval": _iv(ts.interval),
           "score_interval_level": ts.interval_level, "score_message": ts.message,
           "components": {k: c.as_dict() for k, c in ts.components.items()},
           "contralateral_drop_deg": summ.contralateral_drop_deg,
           "side_difference_deg": summ.side_difference_deg,
           "symmetry_index": summ.symmetry_index, "variability": summ.variability,
           "cadence_spm": summ.cadence_spm, "turns_summary": metrics.summarize_turns(turns),
           "messages": msgs}
    return _jsonable(out)


def _same_pace(groups: list[list]) -> list:
    """The steps of several recordings as one list, each recording's step and stride times
    scaled by (pooled mean step time / its mean step time) of its used steps."""
    def mean_step(g):
        v = [s.step_time_s for s in g if s.excluded is None and math.isfinite(s.step_time_s)]
        return (sum(v) / len(v), len(v)) if v else (math.nan, 0)

    stats = [mean_step(g) for g in groups]
    n = sum(k for _, k in stats)
    pooled = sum(m * k for m, k in stats if k) / n if n else math.nan
    out = []
    for g, (m, k) in zip(groups, stats, strict=True):
        f = pooled / m if k and math.isfinite(pooled) else 1.0
        out += [dataclasses.replace(s, step_time_s=s.step_time_s * f,
                                    stride_time_s=s.stride_time_s * f) for s in g]
    return out


def write_json(doc: dict[str, Any], path: str | os.PathLike) -> None:
    """The document as JSON (strict: no NaN); 0600, atomic (sacrum.io.private_files)."""
    from sacrum.io.private_files import open_private

    with open_private(path, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")


__all__ = ["ANGLE_REFERENCES", "Analysis", "Recording", "Score", "Segment", "analyze",
           "angle_reference", "load", "pool_sessions", "read_input", "repetition_summary",
           "steps_of", "steps_outside_tasks", "task_kind", "write_json"]

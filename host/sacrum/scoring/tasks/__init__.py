"""Clinical tasks: stairs found in the motion, single-leg stance, step-down and step-up.

The stage beside ``gait`` in the host pipeline (docs/pipeline.md): it takes what the
pipeline gives (pelvic angles, body-frame angular velocity, sacral acceleration in the
progression frame) and returns, per task of the clinical gait check (protocol/SPEC.md
§5.2: ``stairs-up``, ``stairs-down``, ``single-leg-stance-left|right``,
``step-down-left|right``, ``step-up-left|right``), the segments or repetitions and
their pelvic metrics. ``sacrum.scoring.metrics`` (per stride, walking and stairs) and
``sacrum.scoring.score`` sit after it.

One module per job, their public names re-exported here:

* :mod:`.stairs` - :func:`find_stairs` / :class:`StairDetector` - stair ascent and
  descent inside walking, from the height change the sacrum's acceleration (and a
  barometer, when there is one) shows, labelled with a confidence. Per-step metrics on
  stairs are the walking ones (``sacrum.scoring.metrics.step_metrics`` on the ICs inside
  a segment).
* :mod:`.single_leg_stance` - :func:`single_leg_stance` /
  :class:`SingleLegStanceMonitor` - drop of the unsupported side, sway, time to
  stabilise, time held.
* :mod:`.repetitions` - :func:`repetitions` / :class:`RepetitionCounter` - lateral
  step-down and step-up repetitions: peak contralateral drop, smoothness (log
  dimensionless jerk), duration, count.
* :mod:`.frames` - :func:`to_body_frame`, :func:`contralateral_drop_rad`;
  :mod:`.smoothness` - :func:`ldlj_acc`; :mod:`.common` - :class:`TaskInputError`,
  :class:`Findings`, the sides and task kinds (``_signal``: the detectors' signal helpers).

Inputs (SI, numpy; rows on one time axis ``t_s`` at a constant rate; lost samples are
NaN rows):

* ``angles_rad`` (N, 3): tilt, obliquity, rotation (docs/pelvic-angles.md) relative to
  the standing calibration: obliquity positive = left side up / right side down.
* ``gyr_body_radps`` (N, 3): angular velocity in the body frame (x anterior, y left,
  z up): :func:`to_body_frame` of the sensor's gyroscope with ``q_sensor_to_body``.
* ``acc_body_mps2`` (N, 3): sacral acceleration in the **progression frame** - x
  forward (walking direction), y left, z up (earth vertical) - with **gravity removed**
  (:func:`sacrum.scoring.metrics.body_acceleration` makes it from the pipeline's output). Gravity
  included
  is recognised (median vertical acceleration above g/2) and subtracted.

The *contralateral drop* for a stance side is the obliquity signed so that positive
means the unsupported (other) side is lower than in the standing calibration: in left
stance +obliquity (the right side down), in right stance -obliquity (the left side
down) - the Trendelenburg pattern. Negative values mean the unsupported side is held
higher than standing (hip hiking).

Results are in SI units (rad, s, m); the ``to_dict_deg`` methods give the degrees the
report and the CLI show. Bad input - too short, no movement, gaps - never raises and
never gives a silent zero: results say it in ``messages`` (NaN where a value cannot be
had). Wrong arguments (a side that is not "L"/"R", arrays of the wrong shape) raise
:class:`TaskInputError`.
"""

from sacrum.scoring.tasks.common import REPETITION_KINDS, SIDES, Findings, TaskInputError
from sacrum.scoring.tasks.frames import contralateral_drop_rad, to_body_frame
from sacrum.scoring.tasks.repetitions import RepetitionCounter, RepetitionResult, repetitions
from sacrum.scoring.tasks.single_leg_stance import (
    SingleLegStanceMonitor,
    SingleLegStanceResult,
    single_leg_stance,
)
from sacrum.scoring.tasks.smoothness import ldlj_acc
from sacrum.scoring.tasks.stairs import AIR_SCALE_HEIGHT_M, StairDetector, StairSegment, find_stairs

__all__ = ["AIR_SCALE_HEIGHT_M", "REPETITION_KINDS", "SIDES", "Findings", "RepetitionCounter",
           "RepetitionResult", "SingleLegStanceMonitor", "SingleLegStanceResult",
           "StairDetector", "StairSegment", "TaskInputError", "contralateral_drop_rad",
           "find_stairs", "ldlj_acc", "repetitions", "single_leg_stance", "to_body_frame"]

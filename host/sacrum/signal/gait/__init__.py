"""Gait events from a lower-back (sacral) IMU: initial and final contacts, sides, bouts, turns.

The stage after ``orientation`` (and ``mounting``) in the host pipeline
(docs/pipeline.md). ``GaitEventDetector`` is a streaming processor: feed it chunks of
samples with ``update()``; it returns the gait events that became final in that chunk:
once a walking bout is under way, within one step of when they happened (a late-looking
turning step, step 2(g), about one step later; see "Latency" in ``GaitEventDetector``).
``flush()`` ends a recording (it decides the last half second and closes the open bout).
Feeding a recording whole or in chunks of any size, down to one sample, gives the same
events, bouts, strides and turns.

``detect_events()`` is the offline convenience (whole recording, orientation from
``sacrum.signal.orientation.orientation_offline`` when not given) and
``write_events_csv()`` writes the ``t,event,side`` table used by the ``sacrum events``
command.

One algorithm per module, in the order the data flows through them; the detector
(``detector.py``) is the facade that runs them:

========================  ==============================================================
``samples.py``            step 1: earth frame, short runs of lost samples bridged
``candidates.py``         step 2: IC candidates (steepest rise of vertical acceleration)
``pivots.py``             steps 2(e)-(g): pivot steps in turns, the closing step, late
                          turning steps
``transient.py``          step 2(h): an IC timed at its heel-strike transient
``bouts.py``              step 3: chains of ICs, walking bouts, standing pauses
``direction.py``          step 4: walking direction, progression index of each step
``sides.py``              step 5: left or right
``final_contacts.py``     step 6: the other foot's final contact
``turns.py``              step 8: turns (El-Gohary et al. 2014)
``statistics.py``         step 9: strides, stance, swing, cadence of a bout
``results.py``            the result dataclasses
``offline.py``            ``detect_events``, ``events_in_bouts``, ``write_events_csv``
========================  ==============================================================

Frames: the sensor frame is whatever the sensor is; ``q_sensor_to_earth`` (w, x, y, z)
rotates sensor vectors into a z-up earth frame whose heading is arbitrary (6D fusion). The
body (pelvis) frame is x forward, y left, z up (protocol/SPEC.md). No axis of the sensor is
assumed to point anywhere: the vertical comes from the orientation, the walking direction
from the walking itself (``WalkingDirection``).
"""

from sacrum.signal.gait.bouts import BoutRules
from sacrum.signal.gait.candidates import IcCandidates
from sacrum.signal.gait.detector import GaitEventDetector
from sacrum.signal.gait.direction import WalkingDirection
from sacrum.signal.gait.final_contacts import FinalContacts
from sacrum.signal.gait.offline import detect_events, events_in_bouts, write_events_csv
from sacrum.signal.gait.pivots import ClosingStep, LateTurnStep, TurnGapFiller
from sacrum.signal.gait.results import GaitBout, GaitEvent, Pause, Stride, Turn
from sacrum.signal.gait.samples import SampleBuffer
from sacrum.signal.gait.sides import SideClassifier
from sacrum.signal.gait.statistics import BoutStatistics
from sacrum.signal.gait.transient import HeelStrikeTransient
from sacrum.signal.gait.turns import TurnDetector

__all__ = [
    "BoutRules", "BoutStatistics", "ClosingStep", "FinalContacts", "GaitBout", "GaitEvent",
    "GaitEventDetector", "HeelStrikeTransient", "IcCandidates", "LateTurnStep", "Pause",
    "SampleBuffer", "SideClassifier", "Stride", "Turn", "TurnDetector", "TurnGapFiller",
    "WalkingDirection", "detect_events", "events_in_bouts", "write_events_csv",
]

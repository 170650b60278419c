"""Stage 2, samples to pelvic motion: quaternions, the orientation filter, the sensor's
mounting on the pelvis, pelvic angles, standing, sitting and the progression heading
(``standing``, ``sitting``, ``heading``: the pipeline's components), the streaming
pipeline and gait events (``sacrum.signal.gait``). Reads only ``sacrum.io``."""

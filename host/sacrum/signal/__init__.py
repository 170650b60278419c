"""Stage 2, samples to pelvic motion: quaternions, the orientation filter, the sensor's
mounting on the pelvis, pelvic angles, the streaming pipeline and gait events
(``sacrum.signal.gait``). Reads only ``sacrum.io``."""

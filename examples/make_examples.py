"""Make the bundled sample captures: real human motion streamed by the real firmware.

The recordings (../shared/data/mobgap, Apache-2.0, see examples/README.md) are a
real person walking with an IMU at L5 -- the sacrum position of this project.
This turns them into captures as a sacrum device would have streamed them:

* units to SI (g -> m/s², deg/s -> rad/s);
* axes from the recording sensor's frame (x up, y right, z forward) to a
  sacrum sensor worn as hardware/MOUNTING.md recommends (x up, y left,
  z backward): a 180° rotation about x, so y and z change sign;
* firmware in the loop (``sacrum.testing.simulate``): the firmware's own main loop runs
  under MicroPython with the emulated MPU-6050 playing the recording, fusing
  on-device and streaming over the (fake) BLE radio at ATT MTU 247;
* the reference walking bouts (INDIP MicroWB) become ``walk`` task annotations;
* the capture starts at the recording's own time (its ``Timestamp``).

Run: ``make examples`` (or ``.venv/bin/python examples/make_examples.py``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.io

from sacrum.testing.simulate import simulate

G_MPS2 = 9.80665
HERE = Path(__file__).resolve().parent
# recording frame (x up, y right, z forward) -> recommended mounting (x up, y left, z back)
TO_DEVICE = np.diag([1.0, -1.0, -1.0])
TRIALS = {
    "mobgap_ha001_daily_activities.sacrum": ("Test11", "Trial1", "simulated daily activities"),
    "mobgap_ha001_straight_walk.sacrum": ("Test5", "Trial1", "straight walk, comfortable speed"),
}


def convert(data_dir: Path, test: str, trial: str, out: Path, what: str) -> None:
    mat = scipy.io.loadmat(data_dir / "HA/001/data.mat", simplify_cells=True)
    rec = mat["data"]["TimeMeasure1"][test][trial]
    su = rec["SU"]["LowerBack"]
    rate = int(su["Fs"]["Acc"])
    acc = np.asarray(su["Acc"], float) * G_MPS2 @ TO_DEVICE.T
    gyr = np.deg2rad(np.asarray(su["Gyr"], float)) @ TO_DEVICE.T
    bouts = rec["Standards"]["INDIP"]["MicroWB"]
    bouts = bouts if isinstance(bouts, list) else [bouts]
    ann = []
    for b in bouts:
        ann.append((float(b["Start"]), {"type": "task_start", "task": "walk"}))
        ann.append((float(b["End"]), {"type": "task_stop", "task": "walk"}))
    res = simulate(
        acc, gyr, rate, out, annotations=ann,
        # the recording's own start (Timestamp: Unix time, s), not a made-up date
        start_time_ns=round(float(np.asarray(su["Timestamp"], float)[0]) * 1e9),
        header={
            "note": f"Mobilise-D HA/001 TimeMeasure1/{test}/{trial} ({what}), streamed by the "
                    "sacrum firmware in the loop. Sensor frame: the recommended mounting "
                    "(x up, y left, z backward; hardware/MOUNTING.md).",
            "source": "Mobilise-D consortium via mobgap (Apache-2.0): "
                      f"HA/001/data.mat TimeMeasure1/{test}/{trial}",
            "device": {"name": "sacrum-mobgap", "firmware": "firmware in the loop (MicroPython)",
                       "imu": "emulated MPU-6050 playing the Mobilise-D lower-back IMU"},
        },
    )
    print(f"{out.name}: {res.samples_in} samples at {rate} Hz, {len(bouts)} walking bouts; "
          f"{res.stdout}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "shared/data/mobgap")
    args = ap.parse_args()
    for name, (test, trial, what) in TRIALS.items():
        convert(args.data, test, trial, HERE / name, what)


if __name__ == "__main__":
    main()

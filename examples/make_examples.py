"""Make the bundled sample captures from the Mobilise-D lower-back recordings.

The recordings (../shared/data/mobgap, Apache-2.0, see examples/README.md) are a
real person walking with an IMU at L5 -- the sacrum position of this project.
Until the firmware can stream them itself (firmware-in-the-loop), this turns
them into captures the way the device would stream them:

* units to SI (g -> m/s², deg/s -> rad/s), sensor axes kept as worn
  (x up, y right, z forward: the sensor frame of these captures);
* the on-device orientation stands in as offline VQF 6D (PyPI ``vqf``);
* packets, device clock and BLE delivery from ``sacrum.generator`` at ATT MTU
  247 with realistic jitter and a small transit loss, so loss accounting shows;
* the reference walking bouts (INDIP MicroWB) become ``walk`` task annotations.

Run: ``.venv/bin/python examples/make_examples.py [--data ../shared/data/mobgap]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.io
from vqf import offlineVQF

from sacrum.generator import LinkModel, make_capture

G_MPS2 = 9.80665
HERE = Path(__file__).resolve().parent
TRIALS = {
    "mobgap_ha001_daily_activities.sacrum": ("Test11", "Trial1", "simulated daily activities"),
    "mobgap_ha001_straight_walk.sacrum": ("Test5", "Trial1", "straight walk, comfortable speed"),
}


def convert(data_dir: Path, test: str, trial: str, out: Path, what: str, seed: int) -> None:
    mat = scipy.io.loadmat(data_dir / "HA/001/data.mat", simplify_cells=True)
    rec = mat["data"]["TimeMeasure1"][test][trial]
    su = rec["SU"]["LowerBack"]
    rate = int(su["Fs"]["Acc"])
    acc = np.asarray(su["Acc"], float) * G_MPS2
    gyr = np.deg2rad(np.asarray(su["Gyr"], float))
    q = offlineVQF(np.ascontiguousarray(gyr), np.ascontiguousarray(acc), None, 1.0 / rate)["quat6D"]
    bouts = rec["Standards"]["INDIP"]["MicroWB"]
    bouts = bouts if isinstance(bouts, list) else [bouts]
    ann = []
    for b in bouts:
        ann.append((0.5 + float(b["Start"]), {"type": "task_start", "task": "walk"}))
        ann.append((0.5 + float(b["End"]), {"type": "task_stop", "task": "walk"}))
    truth = make_capture(
        out, q, acc, gyr, rate, seed=seed, annotations=ann,
        link=LinkModel(mtu=247, p_transit_loss=0.003),
        header={
            "note": f"Mobilise-D HA/001 TimeMeasure1/{test}/{trial} ({what}); sensor frame as "
                    "worn: x up, y right, z forward. Orientation: offline VQF 6D.",
            "source": "Mobilise-D consortium via mobgap (Apache-2.0): "
                      f"HA/001/data.mat TimeMeasure1/{test}/{trial}",
            "device": {"name": "sacrum-mobgap", "firmware": "generator (pre-firmware)",
                       "imu": "Mobilise-D lower-back IMU"},
        },
    )
    print(f"{out.name}: {truth.samples} samples at {rate} Hz, {truth.packets} packets, "
          f"{truth.transit_lost} lost in transit, {len(bouts)} walking bouts")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "shared/data/mobgap")
    args = ap.parse_args()
    for i, (name, (test, trial, what)) in enumerate(TRIALS.items()):
        convert(args.data, test, trial, HERE / name, what, seed=i + 1)


if __name__ == "__main__":
    main()

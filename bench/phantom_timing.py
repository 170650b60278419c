"""Does a fused angle lead or lag the walking and running phantoms' truth?

For each phantom (walking: 80 steps; running: walk 8, run 60, walk 8) at 100 and 200 Hz and
each orientation path (``orientation_offline``, the real-time ``OrientationFilter``, and with
``--firmware`` the firmware in the loop: MicroPython, BLE, the device's quaternion), the
pelvic angles (standing calibration) against the truth shifted by -10..+10 ms: the shift
whose RMS error over the movement (each angle's mean error removed) is least, refined by a
parabola. Positive: the fused angle is ahead of the truth. A phantom whose gyro gave the
rate at each sample, where the filters integrate a sample's rate over the interval ending
at it, led by half a sample (tests/test_phantom_timing.py).

    .venv/bin/python bench/phantom_timing.py [--firmware]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from sacrum.io.decode import decode_capture
from sacrum.signal.angles import PelvicAngles
from sacrum.signal.mounting import parse_mount
from sacrum.signal.orientation import OrientationFilter, orientation_offline
from sacrum.testing.running_phantom import running_phantom
from sacrum.testing.walking_phantom import walking_phantom

MOUNT = parse_mount("recommended")


def lead_ms(t, truth, q, rate, moving):
    """(best shift ms, RMS at no shift deg, RMS at the best shift deg)."""
    angles = PelvicAngles(MOUNT, rate)
    angles.calibrate(q[(t > 1.0) & (t < 2.5)])
    fused = angles.update(q)
    shifts = np.arange(-10.0, 10.01, 0.1) * 1e-3
    rms = []
    for s in shifts:
        tr = np.stack([np.interp(t + s, t, truth[:, i]) for i in range(3)], 1)
        e = fused[moving] - tr[moving]
        rms.append(float(np.sqrt(np.mean((e - e.mean(axis=0)) ** 2))))
    rms = np.array(rms)
    k = int(np.argmin(rms))
    d = 0.0
    if 0 < k < len(rms) - 1:
        a, b, c = rms[k - 1:k + 2]
        d = 0.5 * (a - c) / (a - 2 * b + c)
    return ((shifts[k] + d * 1e-4) * 1e3, np.degrees(rms[int(np.argmin(np.abs(shifts)))]),
            np.degrees(rms.min()))


def firmware_q(ph, rate):
    """The device's quaternion on the phantom's time axis (first 20 samples matched)."""
    from sacrum.testing.simulate import simulate

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "x.sacrum"
        simulate(ph["acc"], ph["gyr"], int(rate), out)
        tab = decode_capture(out)
    a0 = tab.acc_mps2[:20].astype(float)
    k = int(np.argmin([np.nanmax(np.abs(a0 - ph["acc"][j:j + 20])) for j in range(60)]))
    n = min(len(tab.q), len(ph["t"]) - k)
    q = np.tile([1.0, 0.0, 0.0, 0.0], (len(ph["t"]), 1))
    q[k:k + n] = tab.q[:n].astype(float)
    return q, np.arange(len(ph["t"])) >= k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--firmware", action="store_true", help="the firmware in the loop too")
    args = ap.parse_args()
    print("| phantom | rate | path | lead (ms) | RMS unshifted (deg) | RMS at the best shift |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rate in (100.0, 200.0):
        walk = walking_phantom(rate_hz=rate, n_steps=80, seed=0, mount=MOUNT)
        run = running_phantom(rate_hz=rate, seed=0, mount=MOUNT)
        for name, ph, end in (("walking", walk, walk["t_ic"][-1]), ("running", run, run["t_end"])):
            t = ph["t"]
            moving = (t > ph["t_ic"][0]) & (t < end)
            paths = {"offline": (orientation_offline(ph["acc"], ph["gyr"], rate), moving),
                     "real time": (OrientationFilter(rate).update(ph["acc"], ph["gyr"]), moving)}
            if args.firmware:
                q, valid = firmware_q(ph, rate)
                paths["firmware"] = (q, moving & valid)
            for path, (q, mv) in paths.items():
                lead, r0, rmin = lead_ms(t, ph["angles"], q, rate, mv)
                print(f"| {name} | {rate:.0f} Hz | {path} | {lead:+.2f} | {r0:.3f} | {rmin:.3f} |")


if __name__ == "__main__":
    main()

"""Running phantom figures (issue 17 item 5): the running stages' errors against the running
phantom's truth per speed, cadence and rate, offline and through the firmware in the loop
(the real firmware under MicroPython, BLE, its own fusion; captured, decoded, analysed on the
device's quaternion), and with hard landings. The tolerances (docs/running.md): drop within
0.5°, cadence within 1 step/min, contact time within 15 ms, oscillation within 1 cm.

    .venv/bin/python bench/running_phantoms.py              # everything (a few minutes)
    .venv/bin/python bench/running_phantoms.py --firmware   # the firmware in the loop only

Each line: used running steps of the phantom's, sides right, the cadence error (against the
phantom's own median step time), the per-side median drop's error and the largest step
error, contact (largest, and mean bias), flight, oscillation and braking errors, the bouts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sacrum.io.decode import decode_capture
from sacrum.scoring.running import summarize_run
from sacrum.testing.running_phantom import running_phantom
from sacrum.testing.simulate import simulate
from test_running import analyse  # the tests' path: the same figures

SPEEDS = [(2.5, None), (3.5, None), (5.0, None), (3.0, 140.0), (4.5, 210.0)]


def figures(p, steps, bouts, metrics) -> str:
    used = [m for m in metrics if m.excluded is None]
    err = {k: [] for k in ("drop", "contact", "flight", "vo", "brake")}
    side_ok = 0
    for m in used:
        k = int(np.argmin(np.abs(p["t_ic"] - m.t_ic_s)))
        side_ok += m.stance_side == p["sides"][k]
        err["drop"].append(m.contralateral_drop_deg - p["drop"][k])
        err["contact"].append(1e3 * (m.contact_time_s - p["contact_s"][k]))
        err["flight"].append(1e3 * (m.flight_time_s - p["flight_s"][k]))
        err["vo"].append(100 * (m.vertical_oscillation_m - p["vo_m"][k]))
        err["brake"].append(m.braking_mps2 - p["braking_mps2"][k])
    s = summarize_run(metrics, min_steps_per_side=5)
    run = p["modes"] == "run"
    dmed = max(abs(s.contralateral_drop_deg[sd] - np.median(p["drop"][run & (p["sides"] == sd)]))
               for sd in "LR")
    mx = {k: float(np.max(np.abs(v))) for k, v in err.items()}
    cadence_err = s.cadence_spm - 60 / np.median(p["t_step"][run])
    return (f"used {len(used)}/{run.sum()} sides {side_ok}/{len(used)} cadence "
            f"{cadence_err:+.2f} spm | drop median {dmed:.2f}° step max {mx['drop']:.2f}° | "
            f"contact max {mx['contact']:.1f} ms (mean {np.mean(err['contact']):+.1f}) | "
            f"flight max {mx['flight']:.1f} ms | VO max {mx['vo']:.2f} cm | braking max "
            f"{mx['brake']:.2f} m/s² | bouts {'-'.join(b.mode for b in bouts)}")


def through_firmware(p, rate: int):
    """The phantom's IMU signals streamed by the firmware (sacrum.testing.simulate), decoded,
    put on the phantom's time axis (the first 20 samples matched), analysed."""
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "run.sacrum"
        simulate(p["acc"], p["gyr"], rate, out)
        tab = decode_capture(out)
    a0 = tab.acc_mps2[:20].astype(float)
    k = int(np.argmin([np.nanmax(np.abs(a0 - p["acc"][j:j + 20])) for j in range(60)]))
    t = tab.t_s + (k / rate - tab.t_s[0])
    lost = int(tab.loss.samples_lost)
    return lost, analyse(p, q=tab.q.astype(float), t=t, acc=tab.acc_mps2.astype(float),
                         rate=float(rate))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--firmware", action="store_true", help="the firmware in the loop only")
    args = ap.parse_args()
    if not args.firmware:
        for rate in (200.0, 100.0):
            print(f"== offline orientation, {rate:.0f} Hz (walk 8, run 60, walk 8 steps; drop "
                  "L 6, R 8.5 deg)")
            for sp, cad in SPEEDS:
                p = running_phantom(rate_hz=rate, speed_mps=sp, cadence_spm=cad,
                                    seed=int(sp * 10))
                print(f"{sp} m/s {p['cadence_spm']:.0f} spm contact "
                      f"{np.nanmean(p['contact_s']) * 1e3:.0f} ms: " + figures(p, *analyse(p)))
    for rate in (200, 100):
        p = running_phantom(rate_hz=float(rate), segments=(("walk", 6), ("run", 40),
                                                           ("walk", 6)), seed=13)
        lost, res = through_firmware(p, rate)
        print(f"== firmware in the loop (MicroPython, BLE), {rate} Hz, 3.5 m/s, {lost} samples "
              "lost: " + figures(p, *res))
    if not args.firmware:
        print("== hard landings (impact 25 m/s², noise 0.2 m/s², belt bounce 4 m/s² at 12 Hz), "
              "3.5 m/s, offline orientation")
        for rate in (200.0, 100.0):
            p = running_phantom(rate_hz=rate, impact_mps2=25.0, acc_noise_mps2=0.2,
                                bounce_mps2=4.0, seed=21)
            print(f"{rate:.0f} Hz: " + figures(p, *analyse(p)))


if __name__ == "__main__":
    main()

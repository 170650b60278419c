"""BLE link throughput through the real Bumble stack (virtual radio), MTU 23 vs 247.

The virtual sensor streams as fast as the two Bumble stacks take notifications (speed
None); BleTransport (bleak over the Bumble backend) receives and StreamDecoder accounts.
Prints samples/s delivered loss-free, the ratio to the 200 Hz a sacrum needs and to the
100 Hz ceiling of MetaMotion's on-board fusion over BLE (the issue's anchor; users report
20-33 Hz with loss), and CPU per 1,000 samples: the whole process (both stacks: an upper
bound for the host) and the host's decoder alone.

    .venv/bin/python bench/ble_link.py [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from sacrum.io.stream import StreamDecoder
from sacrum.io.transports import LinkEvent
from sacrum.io.transports.ble import BleTransport
from sacrum.io.transports.bumble_backend import BumbleClient, BumbleScanner, VirtualRadio
from sacrum.testing.simulator import PhantomSource, SimulatedDevice
from sacrum.testing.virtual_sensor import SENSOR_ADDRESS, VirtualSensor

METAMOTION_MAX_HZ = 100.0
NEEDED_HZ = 200.0


async def run(mtu: int, device_s: float, source: PhantomSource) -> dict:
    radio = VirtualRadio()
    sim = SimulatedDevice(source, name="bench", streaming=False)
    sensor = VirtualSensor(radio.device("bench", SENSOR_ADDRESS), sim, max_mtu=mtu,
                           speed=None)
    await sensor.start()
    dec = StreamDecoder()
    decode_cpu = 0.0
    tr = BleTransport("bench", backend=BumbleClient, scanner_backend=BumbleScanner,
                      bleak_kwargs={"radio": radio}, scan_timeout_s=3.0)
    target = int(device_s * 200)
    async with tr:
        t0, c0 = time.perf_counter(), time.process_time()
        async for item in tr:
            if isinstance(item, LinkEvent):
                continue
            d0 = time.process_time()
            dec.update(item)
            decode_cpu += time.process_time() - d0
            if dec.loss.samples_received >= target:
                break
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    await sensor.stop()
    n = dec.loss.samples_received
    return {"mtu": mtu, "samples": n, "lost": dec.loss.samples_lost, "wall_s": wall,
            "rate_hz": n / wall, "cpu_ms_per_1000": 1e3 * cpu / n * 1000,
            "decode_ms_per_1000": 1e3 * decode_cpu / n * 1000,
            "notifications": sensor.stats.notifications}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="device seconds per run")
    args = ap.parse_args()
    source = PhantomSource(200)
    rows = [asyncio.run(run(mtu, args.seconds, source)) for mtu in (23, 247)]
    print(f"BLE link through Bumble's virtual radio: {args.seconds:g} s of 200 Hz "
          "quaternion + acc + gyro per run")
    print(f"{'MTU':>4} {'samples':>8} {'lost':>5} {'notif.':>7} {'wall s':>7} "
          f"{'samples/s':>10} {'x 200 Hz':>9} {'x MetaMotion':>13} {'CPU ms/1k':>10} "
          f"{'decode ms/1k':>13}")
    for r in rows:
        print(f"{r['mtu']:>4} {r['samples']:>8,} {r['lost']:>5} {r['notifications']:>7,} "
              f"{r['wall_s']:>7.2f} {r['rate_hz']:>10,.0f} {r['rate_hz'] / NEEDED_HZ:>9.1f} "
              f"{r['rate_hz'] / METAMOTION_MAX_HZ:>13.1f} {r['cpu_ms_per_1000']:>10.1f} "
              f"{r['decode_ms_per_1000']:>13.2f}")
    print(f"MTU 247 / MTU 23 throughput: {rows[1]['rate_hz'] / rows[0]['rate_hz']:.1f}x "
          "(11 samples per notification vs 4 samples in 6 SEGMENTs)")


if __name__ == "__main__":
    main()

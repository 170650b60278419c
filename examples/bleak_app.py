"""A sacrum app written against bleak alone: find a sensor, subscribe, start it, print samples.

This is what a developer's own code looks like (a clinic app, a dashboard, a research
script): it knows bleak and the wire format of protocol/SPEC.md, decoded here with
``struct``, and nothing of sacrum's host package. ``tests/test_testing_replay.py`` runs it,
unmodified, against a recorded session (``sacrum.testing``; docs/testing.md).

    python examples/bleak_app.py [--name NAME] [--samples N] [--every K]

Steps: scan for the sacrum service UUID (SPEC 3); connect; subscribe to response, then
data; write HELLO (versions 1.0-1.15) and START_STREAM to control and wait for their
RESPONSEs; print every K-th sample (device time, quaternion, acceleration in m/s²,
angular rate in rad/s) until N samples or the sensor disconnects; then a summary line
with the samples received and the packets missing by their sequence numbers (SPEC 2.1).
A DATA packet SEGMENTed at a small MTU (SPEC 2.4) is counted, not decoded, by this example.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import struct
import sys

from bleak import BleakClient, BleakScanner

SERVICE_UUID = "5ac10001-5e1d-4b6e-a1c3-7f0e2d9c4b10"
DATA_UUID = "5ac10002-5e1d-4b6e-a1c3-7f0e2d9c4b10"
CONTROL_UUID = "5ac10003-5e1d-4b6e-a1c3-7f0e2d9c4b10"
RESPONSE_UUID = "5ac10004-5e1d-4b6e-a1c3-7f0e2d9c4b10"
DATA_HEADER = struct.Struct("<BBHHIHHBB")  # ptype, version, seq, sample_seq, t_us, period, ...
SAMPLE = struct.Struct("<10h")
HELLO, START_STREAM = 0x01, 0x02


class Stream:
    """Decodes DATA notifications and counts what is missing."""

    def __init__(self, every: int, out) -> None:
        self.every = every
        self.out = out
        self.samples = 0
        self.packets = 0
        self.missing_packets = 0
        self.bad = 0
        self.segments = 0
        self.last_seq: int | None = None
        self.disconnected = False  # the sensor dropped the link

    def on_data(self, _sender, data: bytearray) -> None:
        if data[:1] == b"\x04":
            self.segments += 1
            return
        if len(data) < DATA_HEADER.size or data[0] != 0x01:
            self.bad += 1
            return
        _, _, seq, _, t_us, period_us, _, _, n = DATA_HEADER.unpack_from(data)
        if len(data) != DATA_HEADER.size + SAMPLE.size * n:
            self.bad += 1
            return
        if self.last_seq is not None:
            self.missing_packets += (seq - self.last_seq - 1) % 65536
        self.last_seq = seq
        self.packets += 1
        for i in range(n):
            if (self.samples + i) % self.every == 0:
                r = SAMPLE.unpack_from(data, DATA_HEADER.size + i * SAMPLE.size)
                q = [v / 16384 for v in r[:4]]
                acc = [v / 256 for v in r[4:7]]
                gyr = [v / 1024 for v in r[7:]]
                print(f"t_us={(t_us + i * period_us) % 2**32} q={q[0]:+.3f},{q[1]:+.3f},"
                      f"{q[2]:+.3f},{q[3]:+.3f} acc_mps2={acc[0]:+.2f},{acc[1]:+.2f},"
                      f"{acc[2]:+.2f} gyr_radps={gyr[0]:+.3f},{gyr[1]:+.3f},{gyr[2]:+.3f}",
                      file=self.out)
        self.samples += n


class SensorError(RuntimeError):
    """No sacrum sensor answered, or it refused what the app asked."""


async def stream_samples(name: str | None = None, samples: int | None = None,
                         every: int = 100, out=None,
                         scan_timeout_s: float = 10.0) -> Stream:
    """Find a sensor, start it and take samples until ``samples`` or a disconnect."""
    def wanted(device, adv) -> bool:
        ours = SERVICE_UUID in [u.lower() for u in adv.service_uuids]
        return ours and (name is None or name in (device.name, adv.local_name))

    device = await BleakScanner.find_device_by_filter(wanted, timeout=scan_timeout_s)
    if device is None:
        raise SensorError("no sacrum sensor found")
    gone = asyncio.Event()
    stream = Stream(every, out or sys.stdout)
    responses: asyncio.Queue[bytes] = asyncio.Queue()
    token = 0

    async def command(client: BleakClient, opcode: int, args: bytes = b"") -> int:
        nonlocal token
        token = (token + 1) & 0xFF
        await client.write_gatt_char(CONTROL_UUID, bytes((0x02, 0x10, token, opcode)) + args,
                                     response=True)
        while True:
            r = await asyncio.wait_for(responses.get(), 3.0)
            if len(r) >= 5 and r[0] == 0x03 and r[2] == token:
                return r[4]  # the result code; 0 = OK

    async with BleakClient(device, disconnected_callback=lambda _c: gone.set()) as client:
        await client.start_notify(RESPONSE_UUID, lambda _s, d: responses.put_nowait(bytes(d)))
        await client.start_notify(DATA_UUID, stream.on_data)
        if await command(client, HELLO, bytes((0x10, 0x1F))) != 0:
            raise SensorError("the sensor speaks another protocol version")
        if await command(client, START_STREAM) != 0:
            raise SensorError("the sensor refused to stream")
        while not gone.is_set() and (samples is None or stream.samples < samples):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(gone.wait(), 0.05)
    stream.disconnected = gone.is_set()
    return stream


async def run(name: str | None = None, samples: int | None = None, every: int = 100,
              out=None, scan_timeout_s: float = 10.0) -> int:
    try:
        s = await stream_samples(name, samples, every, out, scan_timeout_s)
    except SensorError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"{s.samples} samples in {s.packets} packets; {s.missing_packets} packets missing; "
          f"{s.bad} bad; {s.segments} segments not decoded; "
          f"{'disconnected' if s.disconnected else 'done'}", file=out or sys.stdout)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", help="the sensor's name (default: the first sacrum sensor)")
    p.add_argument("--samples", type=int, help="stop after this many samples")
    p.add_argument("--every", type=int, default=100, help="print every K-th sample")
    args = p.parse_args(argv)
    return asyncio.run(run(args.name, args.samples, args.every))


if __name__ == "__main__":
    sys.exit(main())

"""BleTransport, unchanged, against the virtual sacrum sensor on a real Bumble BLE stack.

Two Bumble hosts and controllers on Bumble's in-process virtual link: the sensor is a GATT
server (sacrum.testing.virtual_sensor), the host side is bleak with a backend over a Bumble GATT
client (sacrum.io.transports.bumble_backend). Advertising, scanning, connection, MTU exchange,
discovery, CCCD writes, notifications, writes and disconnects all go through the real
stacks. The sensor runs faster than real time (``speed``) so a minute of data takes
about a second.

What the real firmware can be asked the same way runs against it now
(tests/test_radio_firmware.py: streaming at MTU 23 and 247, a link loss mid-stream, every
command including a segmented write, a link slower than the stream; the firmware under
MicroPython behind ``sacrum.testing.radio``). What stays here needs a sensor that
misbehaves on purpose (malformed notifications) or none at all, and checks the virtual
sensor that ``sacrum emulate`` puts on a real controller against the golden vectors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest

import sacrum_protocol as sp
from sacrum.io.stream import StreamDecoder
from sacrum.io.transports import LinkEvent, TransportError
from sacrum.io.transports.ble import BleTransport, scan
from sacrum.io.transports.bumble_backend import BumbleClient, BumbleScanner, VirtualRadio
from sacrum.testing.simulator import PhantomSource, SimulatedDevice
from sacrum.testing.virtual_sensor import SENSOR_ADDRESS, VirtualSensor

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime

NAME = "sacrum-1"


@pytest.fixture(scope="module")
def source():
    return PhantomSource(200, seed=2)


@contextlib.asynccontextmanager
async def session(source, *, max_mtu=247, speed=60.0, **sensor_options):
    source.pos = 0
    radio = VirtualRadio()
    sim = SimulatedDevice(source, name=NAME, streaming=False, seed=9)
    sensor = VirtualSensor(radio.device(NAME, SENSOR_ADDRESS), sim, max_mtu=max_mtu,
                           speed=speed, **sensor_options)
    await sensor.start()
    tr = BleTransport(NAME, backend=BumbleClient, scanner_backend=BumbleScanner,
                      bleak_kwargs={"radio": radio}, scan_timeout_s=2.0, backoff_s=(0.05, 0.4))
    try:
        async with tr:
            yield sensor, tr
    finally:
        await sensor.stop()


async def consume(tr, until, dec=None, events=None, on_item=None, timeout_s=30.0):
    dec = dec or StreamDecoder()
    events = [] if events is None else events

    async def run():
        if until(dec):
            return
        async for item in tr:
            if isinstance(item, LinkEvent):
                events.append(item)
            else:
                dec.update(item)
            if on_item is not None:
                await on_item(item, dec)
            if until(dec):
                return

    await asyncio.wait_for(run(), timeout_s)
    return dec, events


async def settle(sensor, tr, dec):
    """Stop the sensor's stream and take in every packet it sent, so that the host's
    counts and the sensor's can be compared exactly."""
    sensor.sim.streaming = False
    await consume(tr, lambda d: d.loss.packets_received >= sensor.stats.packets_sent, dec,
                  timeout_s=5.0)


def test_scan_finds_the_sensor_by_service_uuid(source):
    async def main():
        radio = VirtualRadio()
        sensor = VirtualSensor(radio.device(NAME, SENSOR_ADDRESS),
                               SimulatedDevice(source, name=NAME, streaming=False))
        await sensor.start()
        try:
            return await scan(0.5, scanner_backend=BumbleScanner, radio=radio)
        finally:
            await sensor.stop()

    (found,) = asyncio.run(main())
    assert (found.name, found.address) == (NAME, SENSOR_ADDRESS)
    assert found.rssi_dbm is not None


def test_malformed_notifications_are_counted_not_fatal(source):
    good = sp.encode_data(1, 2, 3, 5000, 0, 0, [(16384, 0, 0, 0, 0, 0, 2511, 0, 0, 0)] * 2)
    bad = [
        good[:20],  # cut short
        good[:15] + bytes((5,)) + good[16:],  # says 5 samples, holds 2
        bytes((0x7F, 0x10)) + good[2:],  # unknown packet type
        bytes((0x01, 0x20)) + good[2:],  # protocol 2.0
        bytes((0x04, 0x10)),  # SEGMENT shorter than its header
    ]

    async def main():
        sent = False

        async def inject(item, dec):
            nonlocal sent
            if not sent and dec.loss.samples_received >= 200:
                sent = True
                for value in bad:
                    assert sensor.send_malformed(value)

        async with session(source, speed=20.0) as (sensor, tr):
            dec, _ = await consume(tr, lambda d: d.loss.samples_received >= 800,
                                   on_item=inject)
            return dec

    dec = asyncio.run(main())
    loss = dec.loss
    assert loss.corrupt_packets == 3
    assert loss.unknown_packets == 1 and loss.unsupported_version_packets == 1
    assert loss.samples_lost == 0  # the stream goes on around the bad values


def test_no_sensor_is_a_clear_error():
    async def main():
        tr = BleTransport("nobody", backend=BumbleClient, scanner_backend=BumbleScanner,
                          bleak_kwargs={"radio": VirtualRadio()}, scan_timeout_s=0.3)
        await tr.connect()

    with pytest.raises(TransportError, match="no sacrum sensor 'nobody' found"):
        asyncio.run(main())


def _vectors(name: str) -> list[dict]:
    with open(Path(__file__).parents[1] / "protocol" / "vectors" / name) as f:
        return json.load(f)


@pytest.mark.parametrize("vector", [v for v in _vectors("commands.json") if v["result"] != "OK"],
                         ids=lambda v: v["name"])
def test_the_emulator_answers_the_golden_bad_commands_as_the_firmware_does(source, vector):
    """``sacrum emulate``'s sensor: the result code SPEC 2.2 gives each bad command (the
    firmware answers the same vectors over the real stack: tests/test_radio_fuzz.py)."""
    sim = SimulatedDevice(source, name=NAME, streaming=False)
    command = bytes.fromhex(vector["hex"])
    _, token, opcode, result, _ = sp.decode_response(sim.handle(command))
    assert sp.RESULT_NAMES[result] == vector["result"]
    assert token == (command[2] if len(command) > 2 else 0)
    assert opcode == (command[3] if len(command) > 3 else 0)

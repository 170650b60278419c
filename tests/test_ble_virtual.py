"""BleTransport, unchanged, against the virtual sacrum sensor on a real Bumble BLE stack.

Two Bumble hosts and controllers on Bumble's in-process virtual link: the sensor is a GATT
server (sacrum.testing.virtual_sensor), the host side is bleak with a backend over a Bumble GATT
client (sacrum.io.transports.bumble_backend). Advertising, scanning, connection, MTU exchange,
discovery, CCCD writes, notifications, writes and disconnects all go through the real
stacks. The sensor runs faster than real time (``speed``) so a minute of data takes
about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

import pytest

import sacrum_protocol as sp
from sacrum.io.stream import StreamDecoder
from sacrum.io.transports import LinkEvent, TransportError
from sacrum.io.transports.ble import BleTransport, scan
from sacrum.io.transports.bumble_backend import BumbleClient, BumbleScanner, VirtualRadio
from sacrum.testing.simulator import PhantomSource, SimulatedDevice
from sacrum.testing.virtual_sensor import SENSOR_ADDRESS, VirtualSensor

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


@pytest.mark.parametrize("mtu", [247, 23])
def test_sixty_seconds_at_200_hz_arrive_without_loss(source, mtu):
    async def main():
        async with session(source, max_mtu=mtu) as (sensor, tr):
            dec, events = await consume(tr, lambda d: d.loss.samples_received >= 60 * 200)
            assert tr.info.connected and sensor.stats.packets_dropped == 0
            return sensor, tr, dec, events

    sensor, tr, dec, events = asyncio.run(main())
    assert not tr.info.connected  # closed
    loss = dec.loss
    assert loss.samples_received >= 12_000 and loss.samples_lost == 0
    assert loss.packets_lost == loss.corrupt_packets == loss.incomplete_segments == 0
    assert tr.info.mtu == mtu and tr.info.battery_percent == 87
    assert tr.info.device["firmware"] == "1.0.0" and tr.info.device["manufacturer"] == "sacrum"
    assert [e.type for e in events][:4] == ["connected", "mtu", "device", "battery"]
    # SPEC 2.4: 11 samples a notification at MTU 247; 4 samples in 6 SEGMENTs at MTU 23
    per_packet = 11 if mtu == 247 else 4
    assert loss.samples_received == loss.packets_received * per_packet
    if mtu == 23:
        assert sensor.stats.notifications >= 6 * loss.packets_received


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


def test_outage_mid_stream_reconnects_and_counts_the_gap_exactly(source):
    async def main():
        async with session(source, speed=20.0) as (sensor, tr):
            dec, events = await consume(tr, lambda d: d.loss.samples_received >= 400)
            await sensor.outage(0.5)  # 0.5 s of device time: ~100 samples dropped
            received_before = dec.loss.samples_received
            await consume(tr, lambda d: d.loss.samples_received >= received_before + 400,
                          dec, events)
            await settle(sensor, tr, dec)
            return sensor, tr, dec, events

    sensor, tr, dec, events = asyncio.run(main())
    kinds = [e.type for e in events]
    assert kinds.count("disconnected") == 1 and kinds.count("reconnected") == 1
    assert kinds.index("disconnected") < kinds.index("reconnected")
    assert tr.info.reconnects == 1
    loss = dec.loss
    assert sensor.stats.samples_dropped >= 100
    assert loss.samples_lost == sensor.stats.samples_dropped_visible  # exact, from seq numbers
    assert loss.packets_dropped_by_device == sensor.stats.packets_dropped_visible
    assert loss.packets_lost_in_transit == 0 and loss.gaps == 1


def test_burst_faster_than_the_link_is_dropped_and_counted_at_the_device(source):
    async def main():
        # 18 packets/s of data into a link that takes 8 notifications/s (4 buffers)
        async with session(source, speed=40.0, link_rate_per_s=8.0, tx_buffers=4) as (
                sensor, tr):
            dec, _ = await consume(tr, lambda d: d.loss.samples_received >= 1500)
            await settle(sensor, tr, dec)
            return sensor, dec

    sensor, dec = asyncio.run(main())
    loss = dec.loss
    assert sensor.stats.packets_dropped > 0.4 * sensor.stats.packets_sent
    assert loss.packets_dropped_by_device == sensor.stats.packets_dropped_visible
    assert loss.samples_lost == sensor.stats.samples_dropped_visible
    assert loss.packets_lost_in_transit == 0 and loss.corrupt_packets == 0


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


def test_commands_round_trip_including_a_segmented_write(source):
    async def main():
        async with session(source, max_mtu=23, speed=5.0) as (sensor, tr):
            status = await tr.command(sp.OP_GET_STATUS)
            busy = await tr.command(sp.OP_SET_RATE, struct.pack("<H", 100))
            unknown = await tr.command(0x7E)
            long_name = "pelvis-left-sensor-1"  # 20 bytes: 24-byte COMMAND, 2 writes at MTU 23
            renamed = await tr.command(sp.OP_SET_NAME, long_name.encode())
            status2 = await tr.command(sp.OP_GET_STATUS)
            await tr.command(sp.OP_STOP_STREAM)
            rate = await tr.command(sp.OP_SET_RATE, struct.pack("<H", 200))
            return sensor, status, busy, unknown, renamed, status2, rate

    sensor, status, busy, unknown, renamed, status2, rate = asyncio.run(main())
    values, name = sp.unpack_status(status.payload)
    assert status.ok and name == NAME and values[sp.STATUS_FIELDS.index("streaming")] == 1
    assert busy.result == sp.RESULT_BUSY and unknown.result == sp.RESULT_UNKNOWN_OPCODE
    assert renamed.ok and sensor.sim.name == "pelvis-left-sensor-1"
    # the 42-byte status record comes back in SEGMENTs on the response characteristic
    assert sp.unpack_status(status2.payload)[1] == "pelvis-left-sensor-1"
    assert rate.ok and rate.payload == struct.pack("<H", 200)


def test_no_sensor_is_a_clear_error():
    async def main():
        tr = BleTransport("nobody", backend=BumbleClient, scanner_backend=BumbleScanner,
                          bleak_kwargs={"radio": VirtualRadio()}, scan_timeout_s=0.3)
        await tr.connect()

    with pytest.raises(TransportError, match="no sacrum sensor 'nobody' found"):
        asyncio.run(main())

"""sacrum.testing.Recorder, and replaying a field log (btsnoop) from a real BLE stack.

The Recorder wraps a bleak client; what it writes must replay as the session it saw: a
session recorded from a replay holds the first capture's packets exactly, its command
answers, and its link drop where the drop happened. The btsnoop log comes from Bumble's
own btsnoop writer on the host side of a real BLE session (two Bumble stacks on Bumble's
virtual radio, sacrum's BleTransport against the virtual sensor), as a phone's HCI snoop
log would.
"""

from __future__ import annotations

import asyncio

import pytest
from bumble.snoop import BtSnooper

import sacrum_protocol as sp
from sacrum import resources
from sacrum.io.capture import CaptureReader
from sacrum.io.transports import LinkEvent, Packet
from sacrum.io.transports.ble import BleTransport
from sacrum.io.transports.bumble_backend import BumbleClient, BumbleScanner, VirtualRadio
from sacrum.testing import Faults, Recorder, ReplayDevice, load_recording
from sacrum.testing.simulator import PhantomSource, SimulatedDevice
from sacrum.testing.virtual_sensor import SENSOR_ADDRESS, VirtualSensor

DEMO = resources.demo_capture()


def data_payloads(path) -> list[bytes]:
    return [r.payload for r in CaptureReader(path).records()
            if r.kind == sp.KIND_PACKET and r.channel == sp.CH_BLE_DATA]


async def _start(client, responses: asyncio.Queue, commands, on_data=None) -> None:
    await client.start_notify(sp.RESPONSE_CHAR_UUID, lambda _c, d: responses.put_nowait(bytes(d)))
    await client.start_notify(sp.DATA_CHAR_UUID, on_data or (lambda _c, _d: None))
    for token, (op, args) in enumerate(commands, 1):
        await client.write_gatt_char(sp.CONTROL_CHAR_UUID, sp.encode_command(token, op, args),
                                     response=True)
        await asyncio.wait_for(responses.get(), 2)


def test_a_recorded_replay_holds_the_first_captures_packets(tmp_path):
    device = ReplayDevice(DEMO)
    out = tmp_path / "again.sacrum"
    # the commands the recorded host sent (HELLO with its version range), so every answer
    # comes from the recording
    hello = next(e.args for e in load_recording(DEMO).exchanges if e.opcode == sp.OP_HELLO)
    commands = [(sp.OP_HELLO, hello), (sp.OP_GET_STATUS, b""), (sp.OP_START_STREAM, b"")]

    async def session():
        async with Recorder(device.client(), out) as rec:
            await _start(rec, asyncio.Queue(), commands)
            await device.wait_finished(20)
            await asyncio.sleep(0.15)  # the end-of-recording drop, seen by the recorder

    asyncio.run(session())
    assert data_payloads(out) == data_payloads(DEMO)
    again = load_recording(out)
    first = load_recording(DEMO)
    assert [(e.opcode, e.args) for e in again.exchanges] == [(op, a) for op, a in commands]
    recorded = {(e.opcode, e.args): (e.result, e.payload) for e in first.exchanges}
    for e in again.exchanges:
        assert (e.result, e.payload) == recorded[(e.opcode, e.args)]
    events = [r.json()["type"] for r in CaptureReader(out).records() if r.kind == sp.KIND_EVENT]
    assert events[0] == "connected" and "disconnected" in events
    assert again.starts_on_command and again.mtu == first.mtu
    # and the second capture replays as the first
    second = ReplayDevice(out)
    got: list[bytes] = []

    async def replay_again():
        async with second.client() as client:
            await _start(client, asyncio.Queue(), commands, lambda _c, d: got.append(bytes(d)))
            await second.wait_finished(20)

    asyncio.run(replay_again())
    assert got == data_payloads(DEMO)
    assert second.stats.answers_recorded == len(commands)


def test_a_drop_in_the_field_is_recorded_and_replayed_where_it_was(tmp_path):
    speed = 20.0  # the 2-s outage lasts 0.1 s, longer than the recorder's 50-ms watch
    device = ReplayDevice(DEMO, speed=speed, faults=Faults(disconnect_at_s=(4.0,), outage_s=2.0))
    out = tmp_path / "field.sacrum"
    commands = [(sp.OP_HELLO, bytes((0x10, 0x10))), (sp.OP_START_STREAM, b"")]

    async def field_session():
        rec = Recorder(device.client(), out)
        async with rec:
            await _start(rec, asyncio.Queue(), commands)
            while rec.is_connected:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            await rec.connect()
            await _start(rec, asyncio.Queue(), commands[1:])
            await asyncio.sleep(0.5)

    asyncio.run(asyncio.wait_for(field_session(), 20))
    recorded = load_recording(out)
    # the field drop, then the host's own disconnect at the end
    assert len(recorded.outages) == 2 and recorded.outages[0].end_s is not None
    before = device.stats.delivered_indices
    n_before = sum(1 for i in before if load_recording(DEMO).data_t_s[i] < 4.0)
    assert sum(1 for t in recorded.data_t_s if t < recorded.outages[0].start_s) == n_before
    # replayed, the drop comes after the same packets
    replay = ReplayDevice(out)
    got: list[bytes] = []
    dropped = asyncio.Event()

    async def again():
        client = replay.client(disconnected_callback=lambda _c: dropped.set())
        async with client:
            await _start(client, asyncio.Queue(), commands, lambda _c, d: got.append(bytes(d)))
            await asyncio.wait_for(dropped.wait(), 10)

    asyncio.run(again())
    assert got == data_payloads(out)[:n_before]


# --- a btsnoop log of a real BLE session ------------------------------------------------
@pytest.fixture(scope="module")
def snooped(tmp_path_factory):
    """A btsnoop log of BleTransport receiving 300 packets from the virtual sensor, and the
    data notifications BleTransport received."""
    path = tmp_path_factory.mktemp("snoop") / "btsnoop_hci.log"

    async def session():
        radio = VirtualRadio()
        sim = SimulatedDevice(PhantomSource(100, seed=3), name="sacrum-1", streaming=False,
                              seed=4)
        sensor = VirtualSensor(radio.device("sacrum-1", SENSOR_ADDRESS), sim, speed=50.0)
        await sensor.start()
        central = await radio.central()
        received: list[bytes] = []
        with open(path, "wb") as f:
            central.host.snooper = BtSnooper(f)
            tr = BleTransport("sacrum-1", backend=BumbleClient, scanner_backend=BumbleScanner,
                              bleak_kwargs={"radio": radio}, scan_timeout_s=2.0)
            try:
                async with tr:
                    async for item in tr:
                        if isinstance(item, Packet) and item.channel == sp.CH_BLE_DATA:
                            received.append(item.data)
                            if len(received) == 300:
                                break
                        elif isinstance(item, LinkEvent) and item.type == "disconnected":
                            break
            finally:
                await sensor.stop()
            central.host.snooper = None
        return received

    return path, asyncio.run(asyncio.wait_for(session(), 60))


def test_a_btsnoop_log_replays_what_the_host_received(snooped):
    path, received = snooped
    recording = load_recording(path)
    assert recording.starts_on_command  # HELLO and START_STREAM are in the log
    assert {e.opcode for e in recording.exchanges} >= {sp.OP_HELLO, sp.OP_START_STREAM}
    # the log may hold a few notifications that reached the HCI but not the app yet
    assert recording.data[:len(received)] == received
    device = ReplayDevice(path)
    got: list[bytes] = []

    async def session():
        async with device.client() as client:
            hello = bytes((sp.VERSION_MIN, sp.VERSION_MAX))  # as BleTransport sent it
            await _start(client, asyncio.Queue(), [(sp.OP_HELLO, hello),
                                                    (sp.OP_START_STREAM, b"")],
                         lambda _c, d: got.append(bytes(d)))
            await device.wait_finished(20)

    asyncio.run(session())
    assert got == recording.data
    assert device.stats.answers_recorded == 2


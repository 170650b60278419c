"""sacrum.testing: a recorded session replayed to code written against bleak.

The app under test is ``examples/bleak_app.py``, a plain bleak program (its own struct
decoding, no sacrum import), run unmodified: ``ReplayDevice.patch_bleak`` makes the replay
bleak's default backend, so its own ``BleakScanner`` and ``BleakClient`` talk to the
recording. sacrum's ``BleTransport`` runs over it too (through bleak-retry-connector).
Expected numbers come from the recordings themselves (decoded by ``sacrum.io.decode``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import time
from pathlib import Path

import pytest

import sacrum_protocol as sp
from sacrum import resources
from sacrum.io.capture import CaptureReader, CaptureWriter
from sacrum.io.decode import decode_capture
from sacrum.io.stream import StreamDecoder
from sacrum.io.transports import LinkEvent
from sacrum.testing import (
    Faults,
    RecordingError,
    ReplayBleakClient,
    ReplayDevice,
    load_recording,
    phantom_walk,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = resources.demo_capture()


def _load_app():
    spec = importlib.util.spec_from_file_location("bleak_app", ROOT / "examples" / "bleak_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bleak_app = _load_app()


def run_app(device: ReplayDevice, **options):
    """The example app against ``device``: its Stream (samples, packets, missing, bad)."""
    with device.patch_bleak():
        return asyncio.run(asyncio.wait_for(bleak_app.stream_samples(
            out=io.StringIO(), scan_timeout_s=2.0, **options), 30))


def data_payloads(path) -> list[bytes]:
    return [r.payload for r in CaptureReader(path).records()
            if r.kind == sp.KIND_PACKET and r.channel == sp.CH_BLE_DATA]


@pytest.fixture(scope="module")
def demo_table():
    return decode_capture(DEMO)


@pytest.fixture(scope="module")
def short_walk(tmp_path_factory):
    return phantom_walk(tmp_path_factory.mktemp("walk") / "walk.sacrum", n_steps=12)


# --- the unmodified bleak app ---------------------------------------------------------
def test_the_bleak_app_gets_every_recorded_sample(demo_table):
    device = ReplayDevice(DEMO)
    app = run_app(device)
    assert app.samples == int(demo_table.received.sum())
    assert app.packets == len(data_payloads(DEMO)) == device.stats.delivered
    assert app.missing_packets == 0 and app.bad == 0
    assert app.disconnected  # the recording ended: the device let go
    assert device.finished


def test_dropped_packets_show_as_missing_in_the_app():
    device = ReplayDevice(DEMO, faults=Faults.dropping(7, start=200, every=3))
    app = run_app(device)
    assert app.missing_packets == 7 == device.stats.dropped
    assert app.packets == len(data_payloads(DEMO)) - 7


def test_a_corrupt_notification_is_seen_as_bad():
    device = ReplayDevice(DEMO, faults=Faults(corrupt={10, 500}))
    app = run_app(device)
    assert app.bad == 2 == device.stats.corrupted
    assert app.missing_packets == 2  # a packet the app could not read leaves a gap in seq


def test_a_disconnect_at_t_ends_the_apps_session_there():
    recording = load_recording(DEMO)
    device = ReplayDevice(DEMO, faults=Faults(disconnect_at_s=(20.0,)))
    app = run_app(device)
    before = sum(1 for t in recording.data_t_s if t < 20.0)
    assert app.disconnected
    assert app.packets == before == device.stats.delivered
    assert device.stats.disconnects == 1


def test_stop_stream_pauses_the_stream(short_walk):
    device = ReplayDevice(short_walk.capture, wait_for_start=True)
    got: list[bytes] = []

    async def session():
        responses: asyncio.Queue[bytes] = asyncio.Queue()
        async with device.client() as client:
            await client.start_notify(sp.RESPONSE_CHAR_UUID,
                                      lambda _c, d: responses.put_nowait(bytes(d)))
            await client.start_notify(sp.DATA_CHAR_UUID, lambda _c, d: got.append(bytes(d)))
            await asyncio.sleep(0.05)
            assert got == []  # START_STREAM not sent yet
            for token, op in ((1, sp.OP_START_STREAM), (2, sp.OP_STOP_STREAM)):
                await client.write_gatt_char(sp.CONTROL_CHAR_UUID, sp.encode_command(token, op))
                await asyncio.wait_for(responses.get(), 1)
                if op == sp.OP_START_STREAM:
                    while len(got) < 20:
                        await asyncio.sleep(0)
            n = len(got)
            await asyncio.sleep(0.05)
            assert len(got) == n  # stopped
            await client.write_gatt_char(sp.CONTROL_CHAR_UUID,
                                         sp.encode_command(3, sp.OP_START_STREAM))
            await device.wait_finished(10)

    asyncio.run(session())
    assert got == data_payloads(short_walk.capture)  # paused, not lost


# --- GATT table and answers -------------------------------------------------------------
def test_the_gatt_table_is_the_specs():
    device = ReplayDevice(DEMO, at_end="stay")

    async def session():
        async with ReplayBleakClient(device) as client:
            svc = client.services
            props = {c.uuid: sorted(c.properties) for s in svc for c in s.characteristics}
            values = {u: bytes(await client.read_gatt_char(u))
                      for u in ("00002a29-0000-1000-8000-00805f9b34fb",
                                "00002a26-0000-1000-8000-00805f9b34fb",
                                "00002a19-0000-1000-8000-00805f9b34fb")}
            return {s.uuid for s in svc}, props, values, client.mtu_size

    services, props, values, mtu = asyncio.run(session())
    assert services == {sp.SERVICE_UUID, "0000180a-0000-1000-8000-00805f9b34fb",
                        "0000180f-0000-1000-8000-00805f9b34fb"}
    assert props[sp.DATA_CHAR_UUID] == ["notify"]
    assert props[sp.RESPONSE_CHAR_UUID] == ["notify"]
    assert props[sp.CONTROL_CHAR_UUID] == ["write", "write-without-response"]
    assert props["00002a19-0000-1000-8000-00805f9b34fb"] == ["notify", "read"]
    header = CaptureReader(DEMO).header
    assert values["00002a26-0000-1000-8000-00805f9b34fb"].decode() == header["device"]["firmware"]
    assert values["00002a29-0000-1000-8000-00805f9b34fb"] == b"sacrum"
    assert 0 <= values["00002a19-0000-1000-8000-00805f9b34fb"][0] <= 100
    assert mtu == header["mtu"]


async def _ask(client, token: int, packet: bytes, responses) -> bytes:
    for part in sp.segment(packet, client.mtu_size, token):
        await client.write_gatt_char(sp.CONTROL_CHAR_UUID, part, response=True)
    reasm = sp.Reassembler()
    while True:
        whole = reasm.push(await asyncio.wait_for(responses.get(), 1))
        if whole is not None:
            return whole


def _answers(capture, packets: list[bytes], **options) -> tuple[list[bytes], ReplayDevice]:
    device = ReplayDevice(capture, at_end="stay", **options)

    async def session():
        responses: asyncio.Queue[bytes] = asyncio.Queue()
        async with device.client() as client:
            await client.start_notify(sp.RESPONSE_CHAR_UUID,
                                      lambda _c, d: responses.put_nowait(bytes(d)))
            return [await _ask(client, i, p, responses) for i, p in enumerate(packets)]

    return asyncio.run(session()), device


def test_commands_are_answered_as_the_recorded_device_answered():
    recording = load_recording(DEMO)
    status = next(ex for ex in recording.exchanges if ex.opcode == sp.OP_GET_STATUS)
    answers, device = _answers(DEMO, [sp.encode_command(77, sp.OP_GET_STATUS)])
    # the recorded answer, version byte included, with this command's token
    assert answers == [sp.encode_response(77, sp.OP_GET_STATUS, status.result, status.payload,
                                          version=status.response[1])]
    assert device.stats.answers_recorded == 1


def test_unrecorded_commands_get_the_golden_vectors_answers(short_walk):
    vectors = json.loads((ROOT / "protocol/vectors/commands.json").read_text())
    golden = {v["name"]: bytes.fromhex(v["hex"])
              for v in json.loads((ROOT / "protocol/vectors/responses.json").read_text())}
    assert load_recording(short_walk.capture).exchanges == []
    packets = [bytes.fromhex(v["hex"]) for v in vectors]
    answers, device = _answers(short_walk.capture, packets, wait_for_start=True)
    assert device.stats.answers_protocol == len(vectors)
    for v, packet, answer in zip(vectors, packets, answers, strict=True):
        assert answer[4] == getattr(sp, "RESULT_" + v["result"]), v["name"]
        if len(packet) >= 4 and v["result"] != "UNSUPPORTED_VERSION":
            assert answer[2:4] == packet[2:4], v["name"]  # token and opcode echoed
    by_name = dict(zip([v["name"] for v in vectors], answers, strict=True))
    # (hello_ok is a codec vector of a device implementing 1.0-1.15; the firmware, and so
    # the replay, implements 1.0 only: its HELLO answer is checked by the result code)
    for command, response in (("start_stream", "start_stream_ok"),
                              ("stop_stream", "stop_stream_ok"),
                              ("identify_default", "identify_ok"), ("reboot", "reboot_ok")):
        assert by_name[command] == golden[response]


# --- pace ---------------------------------------------------------------------------------
@pytest.mark.realtime
def test_paced_replay_keeps_the_recorded_spacing(short_walk):
    recording = load_recording(short_walk.capture)
    speed = 8.0
    arrivals: list[float] = []

    async def session():
        device = ReplayDevice(recording, speed=speed)
        async with device.client() as client:
            await client.start_notify(sp.DATA_CHAR_UUID,
                                      lambda _c, _d: arrivals.append(time.monotonic()))
            await device.wait_finished(30)

    asyncio.run(session())
    assert len(arrivals) == len(recording.data)
    # never early: notification i arrives no sooner than its recorded time / speed
    lateness = [a - arrivals[0] - t / speed for a, t in zip(arrivals, recording.data_t_s,
                                                            strict=True)]
    assert min(lateness) > -0.002
    assert arrivals[-1] - arrivals[0] >= recording.duration_s / speed - 0.002


def test_the_example_apps_command_line_summary(capsys):
    with ReplayDevice(DEMO).patch_bleak():
        assert bleak_app.main(["--samples", "110", "--every", "1000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    n = int(lines[-1].split()[0])  # the summary: samples taken before it stopped
    assert n >= 110
    assert len(lines) - 1 == -(-n // 1000)  # every 1000th sample printed


def test_bad_input_is_refused_with_a_clear_error(tmp_path):
    (tmp_path / "x.sacrum").write_bytes(b"not a capture at all")
    with pytest.raises(RecordingError):
        ReplayDevice(tmp_path / "x.sacrum")
    with pytest.raises(RecordingError):
        ReplayDevice(tmp_path / "missing.sacrum")
    with pytest.raises(ValueError):
        ReplayDevice(DEMO, speed=0)
    with pytest.raises(ValueError):
        Faults(outage_s=-1)


# --- sacrum's own BleTransport over a replay with a recorded outage -----------------------
def test_a_recorded_outage_is_replayed_where_it_was(tmp_path):
    """A capture whose link dropped from 30 s to 32 s (EVENT records, no packets between):
    BleTransport sees the drop, reconnects and counts exactly the samples that never came."""
    reader = CaptureReader(DEMO)
    path = tmp_path / "outage.sacrum"
    t0 = None
    removed = 0
    with CaptureWriter(path, reader.header) as w:
        state = "before"
        for r in reader.records():
            if r.kind == sp.KIND_HEADER:
                continue
            if r.kind == sp.KIND_PACKET and r.channel == sp.CH_BLE_DATA:
                t0 = t0 or r.host_time_ns
                t = (r.host_time_ns - t0) * 1e-9
                if state == "before" and t >= 30.0:
                    w.event("disconnected", r.host_time_ns - 1, reason="link lost")
                    state = "down"
                if state == "down" and t < 32.0:
                    removed += 1
                    continue
                if state == "down":
                    w.event("reconnected", r.host_time_ns - 1)
                    state = "after"
            if r.kind == sp.KIND_PACKET:
                w.write_packet(r.channel, r.payload, r.host_time_ns)
            elif r.kind == sp.KIND_ANNOTATION:
                w.annotate(r.json(), r.host_time_ns)
    device = ReplayDevice(path)
    dec, events = StreamDecoder(), []

    async def session():
        async with device.transport() as tr:
            async for item in tr:
                if isinstance(item, LinkEvent):
                    events.append(item.type)
                    if item.type == "disconnected" and device.finished:
                        return
                else:
                    dec.update(item)

    asyncio.run(asyncio.wait_for(session(), 30))
    assert events.count("reconnected") == 1
    assert dec.loss.packets_lost == removed > 0
    assert dec.loss.packets_received == len(data_payloads(DEMO)) - removed


async def _transport_samples(device: ReplayDevice) -> StreamDecoder:
    dec = StreamDecoder()
    async with device.transport(reconnect=False) as tr:
        async for item in tr:
            if not isinstance(item, LinkEvent):
                dec.update(item)
    return dec


@pytest.mark.parametrize("mtu", [23, 247])
def test_segmented_and_whole_packets_reach_ble_transport(tmp_path, mtu):
    walk = phantom_walk(tmp_path / "w.sacrum", n_steps=10, mtu=mtu, rate_hz=200)
    device = ReplayDevice(walk.capture)
    dec = asyncio.run(asyncio.wait_for(_transport_samples(device), 30))
    assert device.mtu == mtu
    assert dec.loss.samples_received == walk.samples
    assert dec.loss.packets_lost == 0 and dec.loss.corrupt_packets == 0
    assert dec.loss.incomplete_segments == 0


def test_a_serial_capture_replays_as_ble_notifications(tmp_path):
    from sacrum.testing.generator import LinkModel, make_capture, synthetic_walk

    path = tmp_path / "serial.sacrum"
    truth = make_capture(path, *synthetic_walk(6.0, 100), 100, link=LinkModel(serial=True))
    device = ReplayDevice(path)
    dec = asyncio.run(asyncio.wait_for(_transport_samples(device), 30))
    assert dec.loss.samples_received == truth.samples
    assert dec.loss.packets_lost == 0


def test_a_device_is_one_session_across_event_loops():
    """The app stops early and leaves; in a second asyncio.run it comes back to the rest of
    the session (what the device sent meanwhile, to no one, is lost as in life)."""
    device = ReplayDevice(DEMO, speed=50.0)
    first = run_app(device, samples=1100)
    assert not first.disconnected and not device.finished
    second = run_app(device)
    assert second.disconnected and device.finished
    total = len(data_payloads(DEMO))
    assert first.packets + second.packets == device.stats.delivered
    assert device.stats.delivered + device.stats.lost_offline == total
    assert device.stats.connections == 2

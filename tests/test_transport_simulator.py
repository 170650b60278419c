"""SimulatorTransport: the phantom walk streamed through the shared codec, in time."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

import sacrum_protocol as sp
from sacrum.apps.connect import open_transport
from sacrum.io.stream import StreamDecoder
from sacrum.io.transports import LinkEvent, Packet, TransportError
from sacrum.testing.simulator import PhantomSource, SimulatorTransport

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime


async def _collect(tr: SimulatorTransport, on_packet=None):
    dec = StreamDecoder()
    chunks, events, responses = [], [], []
    async with tr:
        async for item in tr:
            if isinstance(item, LinkEvent):
                events.append(item)
                continue
            assert isinstance(item, Packet)
            if item.channel == sp.CH_BLE_RESPONSE:
                responses.append(item)
            chunk = dec.update(item)
            if chunk is not None:
                chunks.append(chunk)
            if on_packet is not None and await on_packet(tr, item, chunks):
                break
    return dec, chunks, events, responses


def test_fast_stream_is_contiguous_and_matches_the_phantom():
    tr = SimulatorTransport(rate_hz=200, speed=None, duration_s=60.0, seed=3)
    dec, chunks, events, _ = asyncio.run(_collect(tr))
    assert [e.type for e in events[:2]] == ["connected", "device"]
    n = sum(len(c.t_device_s) for c in chunks)
    assert n == dec.loss.samples_received >= 60 * 200
    assert dec.loss.samples_lost == 0 and dec.loss.corrupt_packets == 0
    t = np.concatenate([c.t_device_s for c in chunks])
    np.testing.assert_allclose(np.diff(t), 0.005, atol=1e-9)  # device clock: exact 5 ms grid
    # host stamps follow the device clock (an ideal link), packet by packet
    host_s = np.array([c.host_time_ns for c in chunks]) * 1e-9
    np.testing.assert_allclose(np.diff(host_s), np.diff([c.t_device_s[0] for c in chunks]),
                               atol=1e-6)
    # the samples are the phantom's, quantised (acc m/s², 1/256 steps), looping after ~51 s
    truth = PhantomSource(200, seed=3)
    acc = np.concatenate([c.acc_mps2 for c in chunks])
    m = truth.raw.shape[0]
    np.testing.assert_allclose(acc[:m], truth.truth["acc"], atol=0.5 / sp.ACC_SCALE + 1e-6)
    np.testing.assert_array_equal(acc[m:m + 100], acc[:100])
    q = np.concatenate([c.q for c in chunks])
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-3)


def test_small_mtu_segments_and_reassembles():
    tr = SimulatorTransport(speed=None, mtu=23, duration_s=5.0)
    dec, chunks, _, _ = asyncio.run(_collect(tr))
    assert {len(c.t_device_s) for c in chunks} == {4}  # SPEC 2.4: n = 4 at MTU 23
    assert dec.loss.samples_received == 1000 and dec.loss.samples_lost == 0
    assert dec.loss.incomplete_segments == 0


def test_real_time_pacing_and_speed():
    t0 = time.monotonic()
    dec, *_ = asyncio.run(_collect(SimulatorTransport(speed=1.0, duration_s=0.6)))
    real = time.monotonic() - t0
    t0 = time.monotonic()
    dec10, *_ = asyncio.run(_collect(SimulatorTransport(speed=10.0, duration_s=3.0)))
    fast = time.monotonic() - t0
    assert dec.loss.samples_received == dec10.loss.samples_received // 5 == 121 - 121 % 11
    assert 0.5 < real < 1.5  # 0.6 s of data takes about 0.6 s
    assert 0.2 < fast < 1.2  # 3 s of data at 10x takes about 0.3 s


def test_commands_round_trip_and_stop_is_not_loss():
    sent = {"stop": False, "start": False}

    async def on_packet(tr, item, chunks):
        if item.channel == sp.CH_BLE_RESPONSE:
            return False
        if len(chunks) == 20 and not sent["stop"]:
            sent["stop"] = True
            await tr.send(sp.encode_command(7, sp.OP_GET_STATUS))
            await tr.send(sp.encode_command(8, sp.OP_STOP_STREAM))
            await tr.send(b"\x02")  # too short: answered BAD_PACKET
            await asyncio.sleep(0.1)  # device time runs on while stopped
            await tr.send(sp.encode_command(9, sp.OP_START_STREAM))
            sent["start"] = True
        return len(chunks) >= 40

    tr = SimulatorTransport(speed=5.0)
    dec, chunks, _, responses = asyncio.run(_collect(tr, on_packet))
    decoded = [sp.decode_response(p.data) for p in responses]
    assert [(r[1], r[2], r[3]) for r in decoded] == [
        (7, sp.OP_GET_STATUS, sp.RESULT_OK), (8, sp.OP_STOP_STREAM, sp.RESULT_OK),
        (0, 0, sp.RESULT_BAD_PACKET), (9, sp.OP_START_STREAM, sp.RESULT_OK)]
    status, name = sp.unpack_status(decoded[0][4])
    assert name == "sacrum-sim" and status[sp.STATUS_FIELDS.index("rate_hz")] == 200
    assert dec.loss.samples_lost == 0  # a stop is time passing, not loss (SPEC 2.1)
    t_first = [c.t_device_s[0] for c in chunks]
    assert max(np.diff(t_first)) > 0.3  # ≥ 0.1 s wall at 5x: ≥ 0.5 s of device time


def test_open_transport_kinds():
    assert isinstance(open_transport("simulate", rate_hz=100), SimulatorTransport)
    with pytest.raises(TransportError, match="no target"):
        open_transport("simulate", "x")
    with pytest.raises(TransportError, match="rate"):
        open_transport("simulate", rate_hz=123)
    with pytest.raises(TransportError, match="unknown transport"):
        open_transport("carrier-pigeon")

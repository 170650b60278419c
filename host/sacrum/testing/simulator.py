"""A simulated sacrum device: DATA packets of a walking phantom, in real time or faster.

Two layers, both on the shared codec (``sacrum_protocol``):

* :class:`SimulatedDevice` is the device side -- sample source, sequence numbers, device
  clock, device drop counter and the COMMAND → RESPONSE rules of SPEC 2.2. The simulator
  transport and the virtual BLE sensor (``sacrum.testing.virtual_sensor``) share it, so both
  behave as the firmware does.
* :class:`SimulatorTransport` is a :class:`~sacrum.io.transports.Transport` yielding the
  device's notifications as if a perfect BLE link delivered them (``sacrum live
  --simulate``, ``sacrum record --simulate``).

Sample sources yield raw (n, 10) int16 records (SPEC 1.2 scaling): :class:`PhantomSource`
(``sacrum.testing.walking_phantom.walking_phantom``: a walk with a known asymmetric pelvic drop,
looped) and
:class:`CaptureSource` (the received samples of a capture, looped).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import struct
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol

import numpy as np

import sacrum_protocol as sp
from sacrum.io.transports import LinkEvent, Packet, Transport, TransportError, TransportInfo

FIRMWARE_VERSION = (1, 0, 0)
# Delay from the last sample of a packet to its arrival at the host on an ideal link (s):
# one 7.5 ms connection interval.
_LINK_DELAY_S = 0.0075


class SampleSource(Protocol):
    """Raw samples for a simulated device: ``take(n)`` → (n, 10) int16, looping."""

    rate_hz: int

    def take(self, n: int) -> np.ndarray: ...


class _LoopingSource:
    """Hands out rows of a fixed (N, 10) int16 table, wrapping around at the end."""

    def __init__(self, raw: np.ndarray, rate_hz: int) -> None:
        if raw.ndim != 2 or raw.shape[1] != 10 or raw.shape[0] == 0:
            raise ValueError(f"a sample source needs (N, 10) raw samples, not {raw.shape}")
        self.raw = np.ascontiguousarray(raw, "<i2")
        self.rate_hz = rate_hz
        self.pos = 0
        self.loops = 0

    def take(self, n: int) -> np.ndarray:
        idx = (self.pos + np.arange(n)) % self.raw.shape[0]
        self.loops += (self.pos + n) // self.raw.shape[0]
        self.pos = (self.pos + n) % self.raw.shape[0]
        return self.raw[idx]


class PhantomSource(_LoopingSource):
    """Walking phantom at ``rate_hz`` (Hz): stand, walk 80 steps with a pelvic drop of 4° on
    left stance and 9° on right stance, stand; then again (looped, about 51 s a loop).

    q is ``q_sensor_to_earth`` built exactly as ``walking_phantom`` builds it (its pelvic
    angles, heading and mounting); acc (m/s²) and gyro (rad/s) are its sensor-frame signals.
    """

    def __init__(self, rate_hz: int = 200, *, seed: int = 0, heading_deg: float = 30.0,
                 **phantom_options: object) -> None:
        # imported here: the transports stage must not load the analysis stages at import time
        from sacrum.signal.angles import quat_from_angles
        from sacrum.signal.mounting import parse_mount
        from sacrum.signal.quaternion import quat_multiply
        from sacrum.testing.generator import quantize
        from sacrum.testing.walking_phantom import walking_phantom

        mount = phantom_options.pop("mount", None)
        mount = parse_mount("recommended") if mount is None else np.asarray(mount)
        ph = walking_phantom(rate_hz=rate_hz, seed=seed, heading_deg=heading_deg, mount=mount,
                             **phantom_options)
        a = ph["angles"]
        q = quat_multiply(quat_from_angles(a[:, 0], a[:, 1], a[:, 2] + math.radians(heading_deg)),
                          mount)
        raw, _clip = quantize(q, ph["acc"], ph["gyr"])
        super().__init__(raw, rate_hz)
        self.truth = ph


class CaptureSource(_LoopingSource):
    """The received samples of a capture (lost samples skipped), looped."""

    def __init__(self, path: str | os.PathLike) -> None:
        from sacrum.io.decode import decode_capture  # the decode stage, only when asked for
        from sacrum.testing.generator import quantize

        table = decode_capture(path)
        ok = table.received
        if not ok.any():
            raise ValueError(f"capture {path} holds no samples to stream")
        raw, _ = quantize(table.q[ok].astype(float), table.acc_mps2[ok].astype(float),
                          table.gyr_radps[ok].astype(float))
        rate = round(1.0 / table.period_s)
        super().__init__(raw, min(sp.RATES_HZ, key=lambda r: abs(r - rate)))
        self.device = table.device


class SimulatedDevice:
    """The device side of the protocol: forms DATA packets and answers COMMANDs (SPEC 2).

    ``form_packet(n)`` takes the next ``n`` samples and returns a DATA packet; the caller
    either sends it or calls ``dropped_packet()`` (the firmware's ENOMEM path), which the
    ``dropped`` field of every later packet carries. ``handle(command)`` returns the
    RESPONSE of a COMMAND (exactly one per command). The device clock starts at a random
    ``t_us`` so the 32-bit wrap is exercised over long runs.
    """

    def __init__(self, source: SampleSource, *, name: str = "sacrum-sim",
                 model: str = "virtual sacrum (phantom)", streaming: bool = True,
                 battery_percent: int = 87, seed: int | None = None) -> None:
        rng = random.Random(seed)
        self.source = source
        self.name = name
        self.model = model
        self.firmware = ".".join(map(str, FIRMWARE_VERSION))
        self.streaming = streaming
        self.battery_percent = battery_percent
        self.rate_hz = source.rate_hz
        self.seq = rng.randrange(sp.SEQ_MOD)
        self.sample_seq = rng.randrange(sp.SEQ_MOD)
        self.t_us = rng.randrange(sp.T_US_MOD)
        self.dropped = 0  # packets formed but not sent, since boot
        self.packets_formed = 0
        self.samples_formed = 0
        self.version = sp.VERSION
        self.mounting = (sp.Q_SCALE, 0, 0, 0)
        self.boot_s = time.monotonic()
        self.commands = 0

    @property
    def period_us(self) -> int:
        return round(1e6 / self.rate_hz)

    def form_packet(self, n: int) -> bytes:
        """The next DATA packet of ``n`` samples (1..11); advances seq, sample_seq, t_us."""
        raw = self.source.take(n)
        buf = bytearray(sp.data_packet_size(n))
        sp.pack_data_header_into(buf, self.seq, self.sample_seq, self.t_us, self.period_us,
                                 self.dropped, 0, n)
        buf[sp.DATA_HEADER_SIZE:] = raw.tobytes()
        self.seq = (self.seq + 1) % sp.SEQ_MOD
        self.sample_seq = (self.sample_seq + n) % sp.SEQ_MOD
        self.t_us = (self.t_us + n * self.period_us) % sp.T_US_MOD
        self.packets_formed += 1
        self.samples_formed += n
        return bytes(buf)

    def dropped_packet(self) -> None:
        """The last formed packet could not be sent (link congested)."""
        self.dropped += 1

    def status(self) -> bytes:
        values = (*FIRMWARE_VERSION, self.version, sp.IMU_OTHER, sp.FAULT_NONE, 0,
                  int(self.streaming), self.rate_hz, 0, self.battery_percent, sp.LINK_BLE,
                  int(time.monotonic() - self.boot_s), self.dropped)
        return sp.pack_status(values, self.name)

    def handle(self, packet: bytes) -> bytes:
        """RESPONSE to a COMMAND packet, per SPEC 2.2 (bad input gets a result code)."""
        self.commands += 1
        token = packet[2] if len(packet) > 2 else 0
        opcode = packet[3] if len(packet) > 3 else 0
        try:
            _, token, opcode, args = sp.decode_command(packet)
            values = sp.check_args(opcode, args)
        except sp.ProtocolError as e:
            payload = (bytes((0, sp.VERSION_MIN, sp.VERSION_MAX))
                       if e.result == sp.RESULT_UNSUPPORTED_VERSION else b"")
            return sp.encode_response(token, opcode, e.result, payload)
        result, payload = self._dispatch(opcode, values)
        return sp.encode_response(token, opcode, result, payload if result == sp.RESULT_OK
                                  else b"")

    def _dispatch(self, op: int, values: tuple) -> tuple[int, bytes]:
        if op == sp.OP_HELLO:
            chosen = sp.negotiate_version(values[0], values[1])
            if chosen is None:
                return sp.RESULT_UNSUPPORTED_VERSION, b""
            self.version = chosen
            return sp.RESULT_OK, bytes((chosen, sp.VERSION_MIN, sp.VERSION_MAX))
        if op == sp.OP_START_STREAM:
            self.streaming = True
            return sp.RESULT_OK, b""
        if op == sp.OP_STOP_STREAM:
            self.streaming = False
            return sp.RESULT_OK, b""
        if op == sp.OP_SET_RATE:
            if self.streaming:
                return sp.RESULT_BUSY, b""
            if values[0] != self.source.rate_hz:
                return sp.RESULT_BAD_VALUE, b""  # the source is sampled at one rate
            return sp.RESULT_OK, struct.pack("<H", values[0])
        if op == sp.OP_CALIBRATE_GYRO:
            return sp.RESULT_OK, struct.pack("<hhh", 0, 0, 0)
        if op == sp.OP_SET_MOUNTING:
            if values:
                self.mounting = tuple(values)
            return sp.RESULT_OK, struct.pack("<hhhh", *self.mounting)
        if op in (sp.OP_IDENTIFY, sp.OP_REBOOT):
            return sp.RESULT_OK, b""
        if op == sp.OP_GET_STATUS:
            return sp.RESULT_OK, self.status()
        if op == sp.OP_SET_NAME:
            self.name = values[0]
            return sp.RESULT_OK, b""
        if op == sp.OP_SET_LINK:
            return (sp.RESULT_OK, bytes(values)) if values[0] == sp.LINK_BLE else (
                sp.RESULT_FAILED, b"")
        return sp.RESULT_UNKNOWN_OPCODE, b""


class SimulatorTransport(Transport):
    """Packets of a :class:`SimulatedDevice`, delivered as by an ideal BLE link.

    rate_hz: sample rate (Hz, 50/100/200) of the default phantom source.
    speed: 1.0 = real time, 10.0 = ten times faster, None = as fast as the consumer reads.
    mtu: ATT MTU the "link" uses (23..247): sets samples per packet, with SEGMENTs below
        the size of one sample (SPEC 2.4), as the device does.
    duration_s: stop after this much device time (s); None = stream until closed.
    source: a :class:`SampleSource` instead of the phantom.

    Host times: ``start_time_ns`` (default: now) + the packet's device time + one
    connection interval, i.e. what a perfect link would stamp, at any ``speed`` -- so a
    fast-forwarded recording decodes like a real-time one. Commands written with
    ``send`` are answered on the BLE_RESPONSE channel in the same iterator.
    """

    def __init__(self, *, rate_hz: int = 200, speed: float | None = 1.0, mtu: int = 247,
                 duration_s: float | None = None, source: SampleSource | None = None,
                 seed: int = 0, name: str = "sacrum-sim",
                 start_time_ns: int | None = None) -> None:
        if rate_hz not in sp.RATES_HZ:
            raise TransportError(f"rate {rate_hz} Hz is not one of {sp.RATES_HZ}")
        if not sp.MIN_MTU <= mtu <= 517:
            raise TransportError(f"ATT MTU {mtu} is outside 23..517")
        if speed is not None and speed <= 0:
            raise TransportError("speed must be > 0 (or None: as fast as possible)")
        self._source = source
        self._rate_hz = rate_hz
        self._seed = seed
        self._name = name
        self.speed = speed
        self.mtu = mtu
        self.duration_s = duration_s
        self.start_time_ns = start_time_ns
        self.device: SimulatedDevice | None = None
        self.info = TransportInfo("simulator", {"name": name}, mtu)
        self._responses: deque[bytes] = deque()
        self._wake = asyncio.Event()
        self._open = False
        self._tag = 0
        self._dev_s = 0.0  # device time of the next packet's first sample, s since start
        self._stopped_at: float | None = None

    async def connect(self) -> None:
        if self.device is None:
            source = self._source or PhantomSource(self._rate_hz, seed=self._seed)
            self.device = SimulatedDevice(source, name=self._name, seed=self._seed)
            self.info.device = {"name": self.device.name, "address": "simulator",
                                "firmware": self.device.firmware, "model": self.device.model,
                                "imu": "phantom"}
            self.info.battery_percent = self.device.battery_percent
        self._open = True
        self.info.connected = True

    async def close(self) -> None:
        self._open = False
        self.info.connected = False
        self._wake.set()

    async def send(self, packet: bytes) -> None:
        if not self._open or self.device is None:
            raise TransportError("the simulator is not running; use it inside `async with`")
        dev = self.device
        was_streaming = dev.streaming
        self._responses.append(dev.handle(bytes(packet)))
        if was_streaming and not dev.streaming:
            self._stopped_at = time.monotonic()
        elif not was_streaming and dev.streaming and self._stopped_at is not None:
            # device time ran on while stopped: a stop shows as time passing, not loss
            idle_s = (time.monotonic() - self._stopped_at) * (self.speed or 1.0)
            dev.t_us = (dev.t_us + round(idle_s * 1e6)) % sp.T_US_MOD
            self._dev_s += idle_s
        self._wake.set()

    def _notifications(self, packet: bytes) -> list[bytes]:
        parts = sp.segment(packet, self.mtu, self._tag)
        if len(parts) > 1:
            self._tag = (self._tag + 1) & 0xFF
        return parts

    async def __aiter__(self) -> AsyncIterator[Packet | LinkEvent]:
        if self.device is None:
            raise TransportError("connect() the simulator before iterating over it")
        dev = self.device
        start_ns = self.start_time_ns if self.start_time_ns is not None else time.time_ns()
        yield LinkEvent(start_ns, "connected", {"address": "simulator", "mtu": self.mtu})
        yield LinkEvent(start_ns, "device", dict(self.info.device,
                                                 battery_percent=dev.battery_percent))
        n = sp.samples_per_packet(self.mtu)
        t0_wall = time.monotonic()
        since_yield = 0
        while self._open:
            dev_s = self._dev_s
            while self._responses:
                resp = self._responses.popleft()
                stamp = start_ns + round((dev_s + _LINK_DELAY_S) * 1e9)
                for part in self._notifications(resp):
                    yield Packet(stamp, sp.CH_BLE_RESPONSE, part)
            if self.duration_s is not None and dev_s >= self.duration_s - 1e-9:
                return
            if not dev.streaming:
                self._wake.clear()
                await self._wake.wait()  # nothing to send until a command arrives
                continue
            ready_s = dev_s + n / dev.rate_hz  # the packet's last sample has been taken
            if self.speed is not None:
                wait = t0_wall + ready_s / self.speed - time.monotonic()
                if wait > 1e-3:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):  # a command wakes us early
                        await asyncio.wait_for(self._wake.wait(), wait)
                    continue
            elif since_yield >= 64:  # let other tasks (the consumer's UI, commands) run
                since_yield = 0
                await asyncio.sleep(0)
            since_yield += 1
            stamp = start_ns + round((ready_s + _LINK_DELAY_S) * 1e9)
            for part in self._notifications(dev.form_packet(n)):
                yield Packet(stamp, sp.CH_BLE_DATA, part)
            self._dev_s += n / dev.rate_hz

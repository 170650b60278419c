"""A recorded sacrum sensor that bleak apps connect to: replayed BLE sessions in tests.

bleak picks one backend per platform and accepts a custom one (``BleakClient(device,
backend=...)``, ``BleakScanner(backend=...)``). :class:`ReplayDevice` is the peripheral of a
recording (a capture or a btsnoop log, :mod:`sacrum.testing.recording`) and
:class:`ReplayClientBackend` / :class:`ReplayScannerBackend` are bleak backends that talk to
it, so everything above the backend -- ``BleakClient``, ``BleakScanner``, bleak-retry-
connector, the app -- is the real code. :class:`ReplayBleakClient` is a ``BleakClient`` on
that backend; :meth:`ReplayDevice.patch_bleak` makes it bleak's default for a while, so an
app that builds its own ``BleakScanner``/``BleakClient`` runs unmodified.

What the device does, step by step:

1. Advertises its name and the sacrum service UUID (SPEC 3) every 100 ms while it can be
   connected; accepts one central at a time.
2. Serves the GATT table of SPEC 3: the sacrum service (data: notify; control: write,
   write without response; response: notify), Device Information (manufacturer, model,
   firmware: as recorded) and Battery (level: the last recorded, else 100 %).
3. Streams the recorded data notifications, byte for byte, once the central has
   subscribed to data and -- if the recorded host sent START_STREAM before the first data
   arrived, as the firmware requires -- sent START_STREAM; STOP_STREAM pauses it.
   Pace: ``speed`` 1.0 = recorded spacing, 10.0 = ten times faster, None = as fast as the
   app takes them (the default for tests).
4. Answers each COMMAND written to control on the response characteristic: as the
   recorded device answered the same command (opcode and arguments; the app's token), or,
   for a command the recording does not hold, by the rules of SPEC 2.2 (those the
   golden vectors in ``protocol/vectors/`` encode).
5. Drops the link where the recording did (EVENT ``disconnected`` up to ``reconnected``)
   and where ``faults`` say; what the device would have sent while the link was down is
   lost, as in a real drop, and it advertises again when the recorded outage ends. At the
   end of the recording it disconnects (``at_end="disconnect"``) or stays connected and
   silent (``"stay"``).

Time is recorded time: the replay clock runs from the first delivered notification, on
while the link is down (a real device keeps sampling), paused while a connected central
does not take data. A device is one recorded session: used from a second event loop (a
second ``asyncio.run``) it goes on where the first left it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError

import sacrum_protocol as sp
from sacrum.testing.faults import Faults
from sacrum.testing.recording import Outage, Recording, load_recording

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "5A:C1:00:00:00:01"
ADVERTISING_INTERVAL_S = 0.1
_UUID16 = "0000{:04x}-0000-1000-8000-00805f9b34fb"
CCCD_UUID = _UUID16.format(0x2902)
DEVICE_INFO_SERVICE_UUID = _UUID16.format(0x180A)
BATTERY_SERVICE_UUID = _UUID16.format(0x180F)
MANUFACTURER_UUID = _UUID16.format(0x2A29)
MODEL_UUID = _UUID16.format(0x2A24)
FIRMWARE_UUID = _UUID16.format(0x2A26)
BATTERY_LEVEL_UUID = _UUID16.format(0x2A19)

# (service uuid, handle, [(role, uuid, properties, value handle)]); a notifying
# characteristic's CCCD is the handle after its value (as GATT servers lay them out).
_GATT = (
    (sp.SERVICE_UUID, 0x0010, (("data", sp.DATA_CHAR_UUID, ("notify",), 0x0012),
                               ("control", sp.CONTROL_CHAR_UUID,
                                ("write-without-response", "write"), 0x0015),
                               ("response", sp.RESPONSE_CHAR_UUID, ("notify",), 0x0017))),
    (DEVICE_INFO_SERVICE_UUID, 0x0020, (("manufacturer", MANUFACTURER_UUID, ("read",), 0x0022),
                                        ("model", MODEL_UUID, ("read",), 0x0024),
                                        ("firmware", FIRMWARE_UUID, ("read",), 0x0026))),
    (BATTERY_SERVICE_UUID, 0x0030, (("battery", BATTERY_LEVEL_UUID, ("read", "notify"),
                                     0x0032),)),
)


@dataclass
class ReplayStats:
    """What the replayed device did, for a test to check its app against.

    delivered: data notifications delivered; delivered_indices: which (recording order).
    dropped, corrupted: notifications dropped or damaged by ``faults``.
    lost_offline: notifications due while the link was down (an outage, or no central).
    disconnects: link drops the device caused (recorded, faults, end of the recording).
    connections: connections accepted.
    answers_recorded, answers_protocol: commands answered from the recording / by SPEC 2.2.
    responses_unheard: answers no one had subscribed to.
    """

    delivered: int = 0
    delivered_indices: list[int] = field(default_factory=list, repr=False)
    dropped: int = 0
    corrupted: int = 0
    lost_offline: int = 0
    disconnects: int = 0
    connections: int = 0
    answers_recorded: int = 0
    answers_protocol: int = 0
    responses_unheard: int = 0


class _ProtocolAnswers:
    """SPEC 2.2's answer to a command the recording does not hold: the simulator's device
    rules (``SimulatedDevice.handle``), with any valid rate and link accepted."""

    def __init__(self, name: str, rate_hz: int, firmware: str) -> None:
        from sacrum.testing.simulator import SimulatedDevice

        class _NoSamples:
            def __init__(self) -> None:
                self.rate_hz = rate_hz

            def take(self, n: int):  # never called: the replay streams recorded packets
                raise RuntimeError("a replayed device streams the recording")

        class _Device(SimulatedDevice):
            def _dispatch(self, op: int, values: tuple) -> tuple[int, bytes]:
                if op == sp.OP_SET_RATE and not self.streaming:
                    self.rate_hz = values[0]
                    return sp.RESULT_OK, struct.pack("<H", values[0])
                if op == sp.OP_SET_LINK:
                    return sp.RESULT_OK, bytes(values)
                return super()._dispatch(op, values)

        self.device = _Device(_NoSamples(), name=name, streaming=False, seed=0)
        self.device.firmware = firmware

    def answer(self, packet: bytes, streaming: bool) -> bytes:
        self.device.streaming = streaming
        return self.device.handle(packet)


def _period_us(recording: Recording) -> int:
    for value in recording.data:
        if len(value) >= sp.DATA_HEADER_SIZE and value[0] == sp.PTYPE_DATA:
            with contextlib.suppress(sp.ProtocolError, struct.error):
                return sp.decode_data_header(value)[4] or 10000
    return 10000


def _merged(outages: list[Outage]) -> list[Outage]:
    out: list[Outage] = []
    for o in sorted(outages, key=lambda o: o.start_s):
        end = math.inf if o.end_s is None else o.end_s
        if out and o.start_s <= (math.inf if out[-1].end_s is None else out[-1].end_s):
            last_end = math.inf if out[-1].end_s is None else out[-1].end_s
            end = max(end, last_end)
            out[-1] = Outage(out[-1].start_s, None if end == math.inf else end)
        else:
            out.append(Outage(o.start_s, None if end == math.inf else end))
    return out


class ReplayDevice:
    """A sacrum sensor replaying a recording to bleak clients (see the module docstring).

    capture: a capture (``.sacrum``) or btsnoop log path, or a loaded :class:`Recording`.
    speed: 1.0 = recorded pace, X = X times faster, None = as fast as the app takes them.
    faults: notifications to drop or corrupt, disconnects to add (:class:`Faults`).
    at_end: "disconnect" (drop the link when the recording ends) or "stay".
    name, address, mtu: override the recorded ones (default address 5A:C1:00:00:00:01,
        MTU 247 when the recording does not say). The MTU is what the client is told and
        what answers are SEGMENTed to; data notifications are delivered as recorded.
    wait_for_start: stream only after START_STREAM (True), from the data subscription
        (False), or as the recorded host did (None).
    """

    def __init__(self, capture: str | os.PathLike | Recording, *, speed: float | None = None,
                 faults: Faults | None = None, at_end: str = "disconnect",
                 name: str | None = None, address: str | None = None, mtu: int | None = None,
                 wait_for_start: bool | None = None) -> None:
        self.recording = capture if isinstance(capture, Recording) else load_recording(capture)
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be > 0 (or None for as fast as possible), not {speed}")
        if at_end not in ("disconnect", "stay"):
            raise ValueError(f"at_end must be 'disconnect' or 'stay', not {at_end!r}")
        dev = self.recording.device
        self.speed = speed
        self.faults = faults or Faults()
        self.at_end = at_end
        self.name = str(name or dev.get("name") or "sacrum")
        self.address = str(address or dev.get("address") or DEFAULT_ADDRESS).upper()
        self.mtu = int(mtu or self.recording.mtu or 247)
        self.stats = ReplayStats()
        self.values = {
            "manufacturer": str(dev.get("manufacturer") or "sacrum").encode(),
            "model": str(dev.get("model") or dev.get("imu") or "sacrum (replayed)").encode(),
            "firmware": str(dev.get("firmware") or "unknown").encode(),
            "battery": bytes((int(dev.get("battery_percent", 100)) & 0xFF,)),
        }
        fault_outages = [Outage(t, t + self.faults.outage_s) for t in self.faults.disconnect_at_s]
        self._outages = _merged(list(self.recording.outages) + fault_outages)
        start = self.recording.starts_on_command if wait_for_start is None else wait_for_start
        self._auto_stream = not start
        self._protocol = _ProtocolAnswers(self.name, round(1e6 / _period_us(self.recording)),
                                          self.values["firmware"].decode())
        self._used: set[int] = set()
        self._central: ReplayClientBackend | None = None
        self._streaming = False
        self._started = False
        self._pos_s = 0.0  # the replay clock (recorded s) when last stopped
        self._wall: float | None = None  # monotonic time it last started running
        self._available_from_s = 0.0
        self._i = 0  # next data notification to deliver
        self._k = 0  # next outage
        self._response_tag = 0
        self._changed: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._done: asyncio.Event | None = None
        self._backend: type[ReplayClientBackend] | None = None
        self._scanner: type[ReplayScannerBackend] | None = None

    # -- for the app and the test ------------------------------------------------------
    @property
    def backend(self) -> type[ReplayClientBackend]:
        """A bleak client backend bound to this device: ``BleakClient(address, backend=...)``."""
        if self._backend is None:
            self._backend = type("ReplayClientBackend", (ReplayClientBackend,), {"device": self})
        return self._backend

    @property
    def scanner_backend(self) -> type[ReplayScannerBackend]:
        """A bleak scanner backend that hears this device: ``BleakScanner(backend=...)``."""
        if self._scanner is None:
            self._scanner = type("ReplayScannerBackend", (ReplayScannerBackend,),
                                 {"device": self})
        return self._scanner

    def client(self, disconnected_callback: Callable[[BleakClient], None] | None = None,
               **kwargs: Any) -> ReplayBleakClient:
        """A new :class:`ReplayBleakClient` for this device."""
        return ReplayBleakClient(self, disconnected_callback, **kwargs)

    @contextlib.contextmanager
    def patch_bleak(self) -> Iterator[ReplayDevice]:
        """Make this device's backends bleak's defaults: every ``BleakClient`` and
        ``BleakScanner`` created without ``backend=`` inside the block talks to it."""
        import bleak

        saved = bleak.get_platform_client_backend_type, bleak.get_platform_scanner_backend_type
        bleak.get_platform_client_backend_type = lambda: (self.backend, "sacrum-replay")
        bleak.get_platform_scanner_backend_type = lambda: (self.scanner_backend, "sacrum-replay")
        try:
            yield self
        finally:
            bleak.get_platform_client_backend_type, bleak.get_platform_scanner_backend_type = saved

    def transport(self, **options: Any):
        """sacrum's own :class:`~sacrum.io.transports.ble.BleTransport` over this device."""
        from sacrum.io.transports.ble import BleTransport

        options.setdefault("scan_timeout_s", 2.0)
        options.setdefault("backoff_s", (0.05, 0.4))
        return BleTransport(self.name, backend=self.backend, scanner_backend=self.scanner_backend,
                            **options)

    @property
    def finished(self) -> bool:
        """The whole recording has been played."""
        return self._done is not None and self._done.is_set()

    async def wait_finished(self, timeout_s: float | None = None) -> None:
        """Until the whole recording has been played (TimeoutError after ``timeout_s``)."""
        if self._done is None:
            self._done = asyncio.Event()
        await asyncio.wait_for(self._done.wait(), timeout_s)

    @property
    def position_s(self) -> float:
        """The replay clock: recorded seconds since the first data notification."""
        return self._clock()

    # -- state ---------------------------------------------------------------------
    def _clock(self) -> float:
        if self._wall is None or self.speed is None:
            return self._pos_s
        return self._pos_s + (time.monotonic() - self._wall) * self.speed

    def _flowing(self) -> bool:
        c = self._central
        return c is not None and "data" in c._subs and self._streaming

    def _update(self) -> None:
        flowing = self._flowing()
        self._started |= flowing
        run = self._started and (flowing or self._central is None)
        if self.speed is not None:
            if run and self._wall is None:
                self._wall = time.monotonic()
            elif not run and self._wall is not None:
                self._pos_s, self._wall = self._clock(), None
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def _wait_change(self, timeout_s: float | None) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_s)

    def _available(self) -> bool:
        return self._clock() >= self._available_from_s

    def _advertising(self) -> bool:
        return self._central is None and self._available()

    async def _until(self, t_s: float, need_flow: bool) -> None:
        while True:
            if self.speed is None:
                if not need_flow or self._flowing():
                    self._pos_s = max(self._pos_s, t_s)
                    return
                await self._wait_change(None)
                continue
            now = self._clock()
            if now >= t_s:
                return
            await self._wait_change(None if self._wall is None else (t_s - now) / self.speed)

    # -- connections -------------------------------------------------------------------
    def _matches(self, address: str) -> bool:
        return address.upper() == self.address or address == self.name

    async def _accept(self, client: ReplayClientBackend, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.get_loop() is not loop:
            if self._task is not None:  # a new event loop (another asyncio.run): the
                self._changed = None    # session goes on where the last loop left it
                self._central = None
                if not self.finished:
                    self._done = None
            if not self.finished:
                self._task = loop.create_task(self._run())
        deadline = time.monotonic() + timeout_s
        while not self._available() or (self._central is not None
                                         and self._central is not client):
            left = deadline - time.monotonic()
            if self._available_from_s == math.inf:
                raise BleakDeviceNotFoundError(client.address, f"device {client.address} not "
                                               "found: the replayed recording has ended")
            if left <= 0:
                raise BleakDeviceNotFoundError(client.address, f"device {client.address} not "
                                               f"found within {timeout_s:g} s (replayed outage "
                                               "or connected to another central)")
            await self._wait_change(min(left, ADVERTISING_INTERVAL_S))
        self._central = client
        self.stats.connections += 1
        self._update()

    def _release(self, client: ReplayClientBackend) -> None:
        if self._central is client:
            self._central = None
            self._update()

    def _drop_link(self) -> None:
        c = self._central
        if c is None:
            return
        self.stats.disconnects += 1
        self._central = None
        self._update()
        c._lost()

    # -- the stream ------------------------------------------------------------------
    async def _run(self) -> None:
        rec = self.recording
        n = len(rec.data)
        try:
            while self._i < n:
                i, k = self._i, self._k
                t = rec.data_t_s[i]
                if k < len(self._outages) and self._outages[k].start_s <= t:
                    o = self._outages[k]
                    await self._until(o.start_s, need_flow=False)
                    self._k = k + 1
                    end = math.inf if o.end_s is None else o.end_s
                    self._available_from_s = end
                    self._drop_link()
                    if end == math.inf:
                        self.stats.lost_offline += n - i
                        self._i = n
                        return
                    await self._until(end, need_flow=False)
                    self._update()  # advertising again
                    while self._i < n and rec.data_t_s[self._i] < end:
                        self.stats.lost_offline += 1
                        self._i += 1
                    continue
                await self._until(t, need_flow=True)
                self._i = i + 1
                if not self._flowing():
                    self.stats.lost_offline += 1
                    continue
                self._deliver(i)
                if self.speed is None:
                    await asyncio.sleep(0)  # let the app run, as a link would
            if self.at_end == "disconnect":
                self._available_from_s = math.inf
                self._drop_link()
        finally:  # not when cancelled midway (the app's event loop ended first)
            if self._i >= n:
                if self._done is None:
                    self._done = asyncio.Event()
                self._done.set()

    def _deliver(self, i: int) -> None:
        value = self.recording.data[i]
        if i in self.faults.drop:
            self.stats.dropped += 1
            return
        if i in self.faults.corrupt and len(value) > 1:
            value = value[:-1]
            self.stats.corrupted += 1
        c = self._central
        assert c is not None
        self.stats.delivered += 1
        self.stats.delivered_indices.append(i)
        c._subs["data"](bytearray(value))

    # -- commands ------------------------------------------------------------------------
    def _answer(self, packet: bytes) -> bytes:
        try:
            _, token, opcode, args = sp.decode_command(packet)
        except sp.ProtocolError:
            self.stats.answers_protocol += 1
            return self._protocol.answer(packet, self._streaming)
        found = None
        for j, ex in enumerate(self.recording.exchanges):
            if ex.opcode == opcode and ex.args == args:
                found = j
                if j not in self._used:
                    break
        if found is not None:
            self._used.add(found)
            ex = self.recording.exchanges[found]
            self.stats.answers_recorded += 1
            answer = (ex.response[:2] + bytes((token,)) + ex.response[3:] if ex.response
                      else sp.encode_response(token, opcode, ex.result, ex.payload))
        else:
            self.stats.answers_protocol += 1
            answer = self._protocol.answer(packet, self._streaming)
        if answer[4] == sp.RESULT_OK and opcode in (sp.OP_START_STREAM, sp.OP_STOP_STREAM):
            self._streaming = opcode == sp.OP_START_STREAM
            self._update()
        return answer

    def _respond(self, client: ReplayClientBackend, answer: bytes) -> None:
        if self._central is not client:
            return  # the link dropped before the answer went out
        callback = client._subs.get("response")
        if callback is None:
            self.stats.responses_unheard += 1
            return
        parts = sp.segment(answer, self.mtu, self._response_tag)
        if len(parts) > 1:
            self._response_tag = (self._response_tag + 1) & 0xFF
        for part in parts:
            callback(bytearray(part))


class ReplayClientBackend(BaseBleakClient):
    """bleak client backend talking to a :class:`ReplayDevice`.

    Use ``device.backend`` (bound to the device), or this class with ``replay=device``:
    ``BleakClient(device.address, backend=ReplayClientBackend, replay=device)``.
    """

    device: ClassVar[ReplayDevice | None] = None

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device,
                         disconnected_callback=kwargs.pop("disconnected_callback", None),
                         timeout=kwargs.pop("timeout", 10.0))
        dev = kwargs.get("replay") or type(self).device
        if not isinstance(dev, ReplayDevice):
            raise BleakError("the replay backend needs a device: use ReplayDevice(...).backend "
                             "or pass replay=ReplayDevice(...)")
        self._device = dev
        self._connected = False
        self._closing = False
        self._subs: dict[str, NotifyCallback] = {}
        self._control = sp.Reassembler()
        self._cccd: dict[int, bytes] = {}

    @property
    def name(self) -> str:
        return self._device.name

    @property
    def mtu_size(self) -> int:
        return self._device.mtu

    @property
    def is_connected(self) -> bool:
        return self._connected

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        if not self._device._matches(self.address):
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found "
                                           f"(the replayed device is {self._device.address})")
        await self._device._accept(self, float(kwargs.get("timeout", self._timeout)))
        self._connected = True
        self._subs = {}
        self._control = sp.Reassembler()
        self.services = self._collection()

    def _collection(self) -> BleakGATTServiceCollection:
        coll = BleakGATTServiceCollection()
        for service_uuid, handle, chars in _GATT:
            service = BleakGATTService(service_uuid, handle, service_uuid)
            coll.add_service(service)
            for role, uuid, props, value_handle in chars:
                ch = BleakGATTCharacteristic(role, value_handle, uuid, list(props),
                                             lambda: self.mtu_size - 3, service)
                coll.add_characteristic(ch)
                if "notify" in props:
                    coll.add_descriptor(BleakGATTDescriptor(role, value_handle + 1, CCCD_UUID,
                                                            ch))
        return coll

    def _lost(self) -> None:
        """The device dropped the link (unsolicited: bleak's disconnected_callback)."""
        self._connected = False
        self._subs = {}
        self.services = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        if self._connected:
            self._connected = False
            self._subs = {}
            self.services = None
            self._device._release(self)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("the sacrum service needs no pairing; a replayed device has none")

    async def unpair(self) -> None:
        raise BleakError("the sacrum service needs no pairing; a replayed device has none")

    def _need(self) -> None:
        if not self._connected:
            raise BleakError(f"not connected to {self.address}")

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any
                             ) -> bytearray:
        self._need()
        if "read" not in characteristic.properties:
            raise BleakError(f"characteristic {characteristic.uuid} is not readable")
        return bytearray(self._device.values[characteristic.obj])

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any
                                   ) -> bytearray:
        self._need()
        on = descriptor.obj in self._subs
        return bytearray(self._cccd.get(descriptor.handle, b"\x01\x00" if on else b"\x00\x00"))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any,
                              response: bool) -> None:
        self._need()
        if characteristic.obj != "control":
            raise BleakError(f"characteristic {characteristic.uuid} is not writable")
        value = bytes(data)
        limit = 512 if response else self.mtu_size - 3  # a long write, or one ATT packet
        if len(value) > limit:
            raise BleakError(f"a write{'' if response else ' without response'} of "
                             f"{len(value)} bytes exceeds {limit} bytes")
        try:
            packet = self._control.push(value)
        except sp.ProtocolError:
            packet = value  # a malformed SEGMENT: the device answers BAD_PACKET
        if packet is None:
            return
        answer = self._device._answer(bytes(packet))
        asyncio.get_running_loop().call_soon(self._device._respond, self, answer)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        self._need()
        self._cccd[descriptor.handle] = bytes(data)

    async def start_notify(self, characteristic: BleakGATTCharacteristic,
                           callback: NotifyCallback, **kwargs: Any) -> None:
        self._need()
        if "notify" not in characteristic.properties:
            raise BleakError(f"characteristic {characteristic.uuid} does not notify")
        self._subs[characteristic.obj] = callback
        if characteristic.obj == "data" and self._device._auto_stream:
            self._device._streaming = True
        self._device._update()

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._need()
        self._subs.pop(characteristic.obj, None)
        self._device._update()


class ReplayScannerBackend(BaseBleakScanner):
    """bleak scanner backend: hears a :class:`ReplayDevice` advertising (every 100 ms while
    it accepts a connection). ``device.scanner_backend``, or this class with ``replay=``."""

    device: ClassVar[ReplayDevice | None] = None

    def __init__(self, detection_callback: Any, service_uuids: list[str] | None,
                 scanning_mode: str = "active", **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        dev = kwargs.get("replay") or type(self).device
        if not isinstance(dev, ReplayDevice):
            raise BleakError("the replay scanner backend needs a device: use "
                             "ReplayDevice(...).scanner_backend or pass replay=ReplayDevice(...)")
        self._device = dev
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._task = asyncio.get_running_loop().create_task(self._advertise())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _advertise(self) -> None:
        dev = self._device
        while True:
            if dev._advertising():
                adv = AdvertisementData(local_name=dev.name, manufacturer_data={},
                                        service_data={}, service_uuids=[sp.SERVICE_UUID],
                                        tx_power=None, rssi=-60, platform_data=())
                if self.is_allowed_uuid(adv.service_uuids):
                    found = self.create_or_update_device(dev.address, dev.address, dev.name,
                                                         {"replay": True}, adv)
                    self.call_detection_callbacks(found, adv)
            await asyncio.sleep(ADVERTISING_INTERVAL_S)


class ReplayBleakClient(BleakClient):
    """A ``BleakClient`` connected to a replayed recording instead of a radio.

    ``ReplayBleakClient(capture_or_device, disconnected_callback=None, *, speed=None,
    faults=None, ...)``: ``capture_or_device`` is a capture/btsnoop path, a
    :class:`Recording` or a :class:`ReplayDevice` (the other keywords build one). Everything
    else is bleak's own ``BleakClient``: hand it to code written against bleak.
    """

    def __init__(self, capture: str | os.PathLike | Recording | ReplayDevice,
                 disconnected_callback: Callable[[BleakClient], None] | None = None, *,
                 timeout: float = 10.0, **device_options: Any) -> None:
        if isinstance(capture, ReplayDevice):
            if device_options:
                raise TypeError(f"options {sorted(device_options)} belong to the ReplayDevice "
                                "already made; pass them to it")
            device = capture
        else:
            device = ReplayDevice(capture, **device_options)
        self.replay = device
        super().__init__(device.address, disconnected_callback, timeout=timeout,
                         backend=device.backend)

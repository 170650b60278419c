"""Bluetooth LE transport on bleak: scan, connect, subscribe, command, reconnect.

Data and response notifications become :class:`Packet`s on channels BLE_DATA and
BLE_RESPONSE exactly as they arrived (SEGMENTs included: the decoder reassembles and the
capture keeps the air's truth). Link changes become :class:`LinkEvent`s in the same
iterator: "connected", "device" (Device Information read after connecting; then the
sensor's name and IMU from GET_STATUS), "battery", "mtu", "rssi", "disconnected",
"reconnected".

After a drop the transport reconnects by itself, with exponential backoff, through
bleak-retry-connector's ``establish_connection`` (it handles BlueZ's stale-state failures);
the session goes on, and the gap is counted exactly by the decoder from the packets' own
sequence numbers (SPEC 2.1) -- the device keeps sampling and counts every packet it could
not send, so a gap shows as "dropped at the device", not as silent loss.

Threading: all of this is asyncio. A Qt application runs the transport in its own thread
with its own event loop and hands packets over through a queue; nothing here blocks.
``backend``/``scanner_backend`` (bleak's custom-backend hooks) and ``bleak_kwargs`` let
tests run it over Bumble's virtual radio (``sacrum.io.transports.bumble_backend``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

import sacrum_protocol as sp
from sacrum.io.transports import LinkEvent, Packet, Transport, TransportError, TransportInfo, drain
from sacrum.io.transports._commands import (
    PendingCommands,
    Response,
    device_facts,
    send_command,
)

log = logging.getLogger(__name__)

BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
DEVICE_INFO_UUIDS = {  # Device Information characteristic -> our device-dict key
    "00002a29-0000-1000-8000-00805f9b34fb": "manufacturer",
    "00002a24-0000-1000-8000-00805f9b34fb": "model",
    "00002a26-0000-1000-8000-00805f9b34fb": "firmware",
}


@dataclass(frozen=True)
class ScanResult:
    """A sacrum sensor heard while scanning."""

    name: str | None
    address: str
    rssi_dbm: int | None
    battery_percent: int | None  # from Battery service data, when advertised
    firmware: str | None  # when advertised (manufacturer data); else read after connecting
    device: BLEDevice


def _scan_result(device: BLEDevice, adv: AdvertisementData) -> ScanResult:
    battery = adv.service_data.get(BATTERY_SERVICE_UUID)
    return ScanResult(device.name or adv.local_name, device.address, adv.rssi,
                      battery[0] if battery else None, None, device)


async def scan(timeout_s: float = 5.0, *, scanner_backend: type | None = None,
               **bleak_kwargs: Any) -> list[ScanResult]:
    """Sacrum sensors advertising the sacrum service UUID, strongest first."""
    found = await BleakScanner.discover(timeout_s, return_adv=True,
                                        service_uuids=[sp.SERVICE_UUID],
                                        backend=scanner_backend, **bleak_kwargs)
    results = [_scan_result(d, a) for d, a in found.values()]
    return sorted(results, key=lambda r: -(r.rssi_dbm if r.rssi_dbm is not None else -999))


NOT_PAIRED = ("this host is not paired with the sensor: hold its BOOT button 3 s (the LED "
              "blinks fast) and run `sacrum pair NAME`")
NOT_BONDED = ("the sensor does not keep this host's bond (paired outside its pairing window, "
              "or its bonds were forgotten): hold BOOT 3 s and run `sacrum pair NAME` again")
WINDOW_CLOSED = ("pairing window closed: the sensor did not store the bond; hold its BOOT "
                 "button 3 s (the LED blinks fast) and run `sacrum pair` within a minute")


def _not_paired(e: BleakError) -> bool:
    return "insufficient encryption" in str(e).lower() or \
        "insufficient authentication" in str(e).lower()


class BleTransport(Transport):
    """Sacrum packets over BLE.

    target: device name or address; None = the first sacrum sensor found.
    scan_timeout_s: how long one scan for the device lasts (s).
    reconnect: reconnect after an unsolicited drop, waiting backoff_s[0] doubling up to
        backoff_s[1] (s) between attempts, for at most give_up_s (None = forever).
    start_stream: after every (re)connection send HELLO, GET_STATUS and START_STREAM.
    mtu: ATT MTU to ask for where the backend lets the host choose (bleak does not;
        BlueZ, CoreBluetooth and WinRT negotiate on their own, usually 185-517).
    backend, scanner_backend, bleak_kwargs: bleak's custom-backend hooks (tests).
    use_retry_connector: connect through bleak-retry-connector (default) or plain bleak.
    """

    def __init__(self, target: str | None = None, *, scan_timeout_s: float = 10.0,
                 reconnect: bool = True, backoff_s: tuple[float, float] = (0.25, 8.0),
                 give_up_s: float | None = None, start_stream: bool = True,
                 backend: type | None = None, scanner_backend: type | None = None,
                 bleak_kwargs: dict[str, Any] | None = None,
                 use_retry_connector: bool = True, mtu: int | None = None) -> None:
        self.target = target
        self.scan_timeout_s = scan_timeout_s
        self.reconnect = reconnect
        self.backoff_s = backoff_s
        self.give_up_s = give_up_s
        self.start_stream = start_stream
        self.backend = backend
        self.scanner_backend = scanner_backend
        self.bleak_kwargs = dict(bleak_kwargs or {})
        if mtu is not None:
            self.bleak_kwargs["mtu"] = mtu
        self.use_retry_connector = use_retry_connector
        self.info = TransportInfo("ble", {"name": target} if target else {})
        self.client: BleakClient | None = None
        self._ble_device: BLEDevice | None = None
        self._queue: asyncio.Queue[Packet | LinkEvent | None] = asyncio.Queue()
        self._pending = PendingCommands()
        self._resp_reasm = sp.Reassembler()
        self._tag = 0
        self._closing = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self.reconnect_attempts = 0

    # -- events ----------------------------------------------------------------------
    def _event(self, kind: str, **fields: Any) -> None:
        self._queue.put_nowait(LinkEvent(time.time_ns(), kind, fields))

    # -- finding and connecting --------------------------------------------------------
    def _matches(self, device: BLEDevice, adv: AdvertisementData) -> bool:
        if self.target is None:
            return sp.SERVICE_UUID in [u.lower() for u in adv.service_uuids]
        t = self.target.lower()
        return device.address.lower() == t or (device.name or adv.local_name or "").lower() == t

    async def _find(self) -> BLEDevice:
        found = await BleakScanner.find_device_by_filter(
            self._matches, timeout=self.scan_timeout_s, service_uuids=[sp.SERVICE_UUID],
            backend=self.scanner_backend, **self.bleak_kwargs)
        if found is None:
            what = f"sacrum sensor {self.target!r}" if self.target else "sacrum sensor"
            raise TransportError(
                f"no {what} found in {self.scan_timeout_s:g} s of scanning; is it switched on "
                "and not connected to another host? `sacrum scan` lists what is in range")
        return found

    async def connect(self) -> None:
        self._closing = False
        try:
            self._ble_device = await self._find()
            await self._connect_once("connected")
        except BleakError as e:
            raise TransportError(f"BLE connection failed: {e}") from e

    async def _connect_once(self, event: str) -> None:
        assert self._ble_device is not None
        dev = self._ble_device
        if self.use_retry_connector:
            from bleak_retry_connector import establish_connection

            client = await establish_connection(
                BleakClient, dev, dev.name or dev.address,
                disconnected_callback=self._on_disconnect, max_attempts=3,
                backend=self.backend, **self.bleak_kwargs)
        else:
            client = BleakClient(dev, disconnected_callback=self._on_disconnect,
                                 backend=self.backend, **self.bleak_kwargs)
            await client.connect()
        self.client = client
        self._resp_reasm = sp.Reassembler()
        self._event(event, address=dev.address, name=dev.name, mtu=client.mtu_size,
                    **({"attempts": self.reconnect_attempts} if event == "reconnected" else {}))
        try:
            await self._setup(client)
        except Exception:
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise
        self.info.connected = True

    async def _setup(self, client: BleakClient) -> None:
        dev = self._ble_device
        assert dev is not None
        self.info.mtu = client.mtu_size
        self._event("mtu", mtu=client.mtu_size)
        device = {"name": dev.name, "address": dev.address}
        for uuid, key in DEVICE_INFO_UUIDS.items():
            if client.services.get_characteristic(uuid) is not None:
                device[key] = bytes(await client.read_gatt_char(uuid)).decode("utf-8",
                                                                              "replace")
        self.info.device.update(device)
        self._event("device", **device)
        battery = client.services.get_characteristic(BATTERY_LEVEL_UUID)
        if battery is not None:
            level = bytes(await client.read_gatt_char(battery))
            if level and level[0] <= 100:
                self.info.battery_percent = level[0]
                self._event("battery", battery_percent=level[0])
            if "notify" in battery.properties:
                await client.start_notify(battery, self._on_battery)
        if client.services.get_characteristic(sp.DATA_CHAR_UUID) is None:
            raise TransportError(f"{dev.address} has no sacrum data characteristic; is it "
                                 "running sacrum firmware?")
        # SPEC 3: response before control writes, data before START_STREAM
        await client.start_notify(sp.RESPONSE_CHAR_UUID, self._on_response)
        await client.start_notify(sp.DATA_CHAR_UUID, self._on_data)
        if self.start_stream:
            hello = await self.command(sp.OP_HELLO, bytes((sp.VERSION_MIN, sp.VERSION_MAX)))
            if hello.result == sp.RESULT_NOT_BONDED:
                raise TransportError(NOT_BONDED)
            if hello.result == sp.RESULT_UNSUPPORTED_VERSION:
                raise TransportError("the sensor speaks another protocol version; update the "
                                     "older of the sensor firmware and this program")
            facts = await self._status_facts(hello)
            if facts:
                self.info.device.update(facts)
                self._event("device", **facts)
            start = await self.command(sp.OP_START_STREAM)
            if not start.ok:
                raise TransportError(f"the sensor refused to stream ({start.result_name})")

    async def _status_facts(self, hello: Response) -> dict[str, Any]:
        """The sensor's own name and its IMU, from GET_STATUS (SPEC 2.3): the Device
        Information service carries neither, and a scan may give no name. {} when the
        sensor does not answer (the recording goes on without them)."""
        if not hello.ok or not hello.payload:
            return {}
        try:
            status = await self.command(sp.OP_GET_STATUS)
        except TransportError as e:
            log.info("no device status: %s", e)
            return {}
        return device_facts(hello.payload[0], status.payload) if status.ok else {}

    # -- notifications -------------------------------------------------------------------
    def _on_data(self, _char: object, value: bytearray) -> None:
        self._queue.put_nowait(Packet(time.time_ns(), sp.CH_BLE_DATA, bytes(value)))

    def _on_response(self, _char: object, value: bytearray) -> None:
        data = bytes(value)
        self._queue.put_nowait(Packet(time.time_ns(), sp.CH_BLE_RESPONSE, data))
        try:
            packet = self._resp_reasm.push(data)
        except sp.ProtocolError:
            self._pending.corrupt += 1
            return
        if packet is not None:
            self._pending.resolve(packet)

    def _on_battery(self, _char: object, value: bytearray) -> None:
        if value and value[0] <= 100:
            self.info.battery_percent = value[0]
            self._event("battery", battery_percent=value[0])

    # -- drops and reconnection ----------------------------------------------------------
    def _on_disconnect(self, _client: BleakClient) -> None:
        if self._closing:
            return
        self.info.connected = False
        self._event("disconnected", reason="link lost")
        self._pending.fail_all(TransportError("the BLE link dropped"))
        if not self.reconnect:
            self._queue.put_nowait(None)
            return
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = self.backoff_s[0]
        t0 = time.monotonic()
        while not self._closing:
            await asyncio.sleep(delay)
            if self._closing:
                return
            self.reconnect_attempts += 1
            try:
                self._ble_device = await self._find()
                await self._connect_once("reconnected")
            except (BleakError, TransportError, TimeoutError, OSError) as e:
                log.info("reconnect attempt %d failed: %s", self.reconnect_attempts, e)
                if self.give_up_s is not None and time.monotonic() - t0 > self.give_up_s:
                    self._event("disconnected", reason=f"gave up reconnecting: {e}")
                    self._queue.put_nowait(None)
                    return
                delay = min(delay * 2, self.backoff_s[1])
                continue
            self.info.reconnects += 1
            return

    # -- the Transport interface -----------------------------------------------------------
    async def close(self) -> None:
        self._closing = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reconnect_task
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.disconnect()
        self.info.connected = False
        self._pending.fail_all(TransportError("the BLE transport was closed"))
        self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Packet | LinkEvent]:
        return drain(self._queue)

    async def send(self, packet: bytes) -> None:
        """Write a COMMAND to the control characteristic (SEGMENTed if over one write)."""
        client = self.client
        if client is None or not client.is_connected:
            raise TransportError("not connected to a sensor (the link may be reconnecting)")
        parts = sp.segment(packet, client.mtu_size, self._tag)
        if len(parts) > 1:
            self._tag = (self._tag + 1) & 0xFF
        try:
            for part in parts:
                await client.write_gatt_char(sp.CONTROL_CHAR_UUID, part, response=True)
                self._queue.put_nowait(Packet(time.time_ns(), sp.CH_BLE_CONTROL, part))
        except BleakError as e:
            if _not_paired(e):
                raise TransportError(NOT_PAIRED) from e
            raise TransportError(f"writing a command failed: {e}") from e

    async def pair(self) -> str:
        """Find the sensor, pair and bond (LE Secure Connections; the sensor must be in its
        pairing window), check that it kept the bond (HELLO answered, not NOT_BONDED), and
        disconnect. Later connections encrypt with the bond by themselves. Returns the
        sensor's name; TransportError (WINDOW_CLOSED) if the sensor refused the bond."""
        self._closing = True  # no reconnects for this short visit
        try:
            self._ble_device = await self._find()
            dev = self._ble_device
            client = BleakClient(dev, backend=self.backend, **self.bleak_kwargs)
            await client.connect()
            self.client = client
            try:
                await client.pair()
                await client.start_notify(sp.RESPONSE_CHAR_UUID, self._on_response)
                hello = await self.command(sp.OP_HELLO, bytes((sp.VERSION_MIN, sp.VERSION_MAX)))
            finally:
                with contextlib.suppress(Exception):
                    await client.disconnect()
                self.client = None
        except BleakError as e:
            raise TransportError(f"pairing failed: {e}") from e
        if hello.result == sp.RESULT_NOT_BONDED:
            raise TransportError(WINDOW_CLOSED)
        return dev.name or dev.address

    async def command(self, opcode: int, payload: bytes = b"",
                      timeout_s: float | None = None) -> Response:
        """Send a COMMAND and await its RESPONSE (SPEC 2.2 timeouts by default)."""
        return await send_command(self.send, self._pending, opcode, payload, timeout_s)

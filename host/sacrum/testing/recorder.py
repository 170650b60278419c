"""Record what a bleak session received into a sacrum capture (SPEC 5).

A developer whose app misbehaves in the field wraps its ``BleakClient`` in a
:class:`Recorder`; the capture it writes holds every data and response notification with
its host receive time, every command written to the control characteristic, the link's
connects, drops and reconnects and the device information read, so
:class:`~sacrum.testing.ReplayDevice` can play that exact session back to the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import time
from typing import Any

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic

import sacrum_protocol as sp
from sacrum.io.capture import CaptureWriter, default_header

log = logging.getLogger(__name__)

_CHANNELS = {sp.DATA_CHAR_UUID: sp.CH_BLE_DATA, sp.RESPONSE_CHAR_UUID: sp.CH_BLE_RESPONSE}
_BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
_DEVICE_INFO = {"00002a29-0000-1000-8000-00805f9b34fb": "manufacturer",
                "00002a24-0000-1000-8000-00805f9b34fb": "model",
                "00002a26-0000-1000-8000-00805f9b34fb": "firmware"}


class Recorder:
    """A ``BleakClient`` that writes what it receives into a capture.

    ``Recorder(client, path)`` wraps ``client``; use the recorder where the app used the
    client (every other attribute is the client's). Recorded: notifications of the data and
    response characteristics (PACKET records on BLE_DATA / BLE_RESPONSE, bytes as received,
    host time at the callback), values written to control (BLE_CONTROL), battery levels
    read or notified, Device Information read (DEVICE), and link events (EVENT
    ``connected``, ``mtu``, ``disconnected``, ``reconnected``). Unsolicited drops are seen
    by watching ``client.is_connected`` every ``poll_s`` seconds (bleak gives only the
    client's creator a disconnect callback), so their time is known to within ``poll_s``.

    ``async with Recorder(client, path) as rec:`` connects (if the client is not
    connected) and, on leaving, disconnects and closes the capture; or call ``connect``,
    ``disconnect`` and ``close`` yourself. ``note`` goes into the capture's header.
    """

    def __init__(self, client: BleakClient, path: str | os.PathLike, *,
                 note: str | None = None, poll_s: float = 0.05) -> None:
        self.client = client
        self.poll_s = poll_s
        header = default_header(transport="ble", device={"address": client.address},
                                note=note or "recorded from a bleak session by "
                                "sacrum.testing.Recorder")
        self.writer = CaptureWriter(path, header)
        self.path = self.writer.path
        self._seen_connected = False
        self._ever_connected = False
        self._closing = False
        self._watch: asyncio.Task[None] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    async def __aenter__(self) -> Recorder:
        if self.client.is_connected:
            self._link_up("connected")
        else:
            await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.disconnect()
        finally:
            self.close()

    # -- the link ------------------------------------------------------------------------
    async def connect(self, **kwargs: Any) -> None:
        if self._seen_connected and not self.client.is_connected:
            # dropped and reconnected before the watch saw it: the drop is still recorded
            self.writer.event("disconnected", reason="link lost")
            self._seen_connected = False
        self._closing = False
        await self.client.connect(**kwargs)
        self._link_up("reconnected" if self._ever_connected else "connected")

    def _link_up(self, kind: str) -> None:
        c = self.client
        self.writer.event(kind, address=c.address, name=_name(c), mtu=c.mtu_size)
        self.writer.event("mtu", mtu=c.mtu_size)
        if not self._ever_connected:
            self.writer.device_info({"name": _name(c), "address": c.address})
        self._seen_connected = self._ever_connected = True
        if self._watch is None or self._watch.done():
            self._watch = asyncio.get_running_loop().create_task(self._watch_link())

    async def _watch_link(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            up = self.client.is_connected
            if up == self._seen_connected or self._closing:
                continue
            self._seen_connected = up
            if up:
                self.writer.event("reconnected", address=self.client.address,
                                  mtu=self.client.mtu_size)
            else:
                self.writer.event("disconnected", reason="link lost")

    async def disconnect(self) -> None:
        self._closing = True
        if self.client.is_connected:
            self.writer.event("disconnected", reason="host disconnected")
            await self.client.disconnect()
        self._seen_connected = False

    def close(self) -> None:
        """Stop watching the link and close the capture (every record is already on disk)."""
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        self.writer.close()

    # -- GATT ------------------------------------------------------------------------
    def _uuid(self, char: BleakGATTCharacteristic | int | str) -> str | None:
        if isinstance(char, BleakGATTCharacteristic):
            return char.uuid
        found = self.client.services.get_characteristic(char)
        return found.uuid if found is not None else None

    async def start_notify(self, char: BleakGATTCharacteristic | int | str, callback: Any,
                           **kwargs: Any) -> None:
        uuid = self._uuid(char)
        channel = _CHANNELS.get(uuid or "")

        def record(data: bytearray) -> None:
            if channel is not None:
                self.writer.write_packet(channel, bytes(data), time.time_ns())
            elif uuid == _BATTERY_LEVEL_UUID and data:
                self.writer.event("battery", battery_percent=data[0])

        if inspect.iscoroutinefunction(callback):
            async def wrapped(sender: BleakGATTCharacteristic, data: bytearray) -> None:
                record(data)
                await callback(sender, data)
        else:
            def wrapped(sender: BleakGATTCharacteristic, data: bytearray) -> Any:
                record(data)
                return callback(sender, data)
        await self.client.start_notify(char, wrapped, **kwargs)

    async def write_gatt_char(self, char: BleakGATTCharacteristic | int | str, data: Any,
                              response: bool | None = None) -> None:
        await self.client.write_gatt_char(char, data, response)
        if self._uuid(char) == sp.CONTROL_CHAR_UUID:
            self.writer.write_packet(sp.CH_BLE_CONTROL, bytes(data), time.time_ns())

    async def read_gatt_char(self, char: BleakGATTCharacteristic | int | str,
                             **kwargs: Any) -> bytearray:
        value = await self.client.read_gatt_char(char, **kwargs)
        uuid = self._uuid(char)
        if uuid in _DEVICE_INFO:
            with contextlib.suppress(UnicodeError):
                self.writer.device_info({_DEVICE_INFO[uuid]: bytes(value).decode("utf-8")})
        elif uuid == _BATTERY_LEVEL_UUID and value:
            self.writer.event("battery", battery_percent=value[0])
        return value


def _name(client: BleakClient) -> str | None:
    try:
        return client.name
    except (NotImplementedError, AttributeError):  # backends without a name
        return None

"""A bleak backend over a Bumble central, on Bumble's in-process virtual radio.

bleak chooses one backend per platform (BlueZ, CoreBluetooth, WinRT) and accepts a custom
one (``BleakClient(..., backend=BumbleClient)``, ``BleakScanner(..., backend=
BumbleScanner)``). This one drives a real Bumble host stack -- HCI, L2CAP, ATT, GATT client
-- whose controller sits on a :class:`VirtualRadio` (Bumble's ``LocalLink``) shared with
the virtual sacrum sensor's controller. So ``BleTransport`` runs unchanged against the
virtual sensor, and everything above the radio is real: advertising and scanning,
connection, MTU exchange, service discovery, CCCD writes, notifications, writes and
disconnects. Only the radio is faked, at its lowest boundary.

Pass the radio as a keyword: ``BleakClient(device, backend=BumbleClient, radio=radio)``.
All Bumble objects belong to the event loop that created the radio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuidlib
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble import hci
from bumble.att import (
    ATT_INSUFFICIENT_AUTHENTICATION_ERROR,
    ATT_INSUFFICIENT_ENCRYPTION_ERROR,
    ATT_Error,
)
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device, Peer
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

log = logging.getLogger(__name__)

# the words BleTransport recognises (BlueZ and CoreBluetooth say "Insufficient Encryption")
INSUFFICIENT_ENCRYPTION = "ATT error: Insufficient Encryption (the link is not paired)"

CENTRAL_ADDRESS = "C0:5A:C1:00:00:01"
_PROPERTY_NAMES = ((0x01, "broadcast"), (0x02, "read"), (0x04, "write-without-response"),
                   (0x08, "write"), (0x10, "notify"), (0x20, "indicate"),
                   (0x40, "authenticated-signed-writes"), (0x80, "extended-properties"))
_REQUESTED_MTU = 247  # what the ESP32 firmware asks for too (SPEC 3)


def bleak_uuid(u: UUID) -> str:
    """A Bumble UUID as bleak writes it: 128-bit, lower case, dashed."""
    return str(uuidlib.UUID(bytes=bytes(reversed(u.to_bytes(force_128=True)))))


class VirtualRadio:
    """Bumble's in-process link: every controller on it hears every other.

    ``device(name, address)`` makes a Bumble Device with its own virtual controller
    (the sensor side); ``central()`` returns the one powered-on central of this radio
    (the host's adapter), shared by the scanner and client backends.
    """

    def __init__(self) -> None:
        self.link = LocalLink()
        self._central: Device | None = None
        self._central_lock = asyncio.Lock()
        self._count = 0

    def device(self, name: str, address: str) -> Device:
        self._count += 1
        controller = Controller(f"ctrl-{self._count}-{name}", link=self.link,
                                public_address=address)
        dev = Device(name=name, address=hci.Address(address),
                     host=Host(controller, AsyncPipeSink(controller)))
        return dev

    async def central(self) -> Device:
        async with self._central_lock:
            if self._central is None:
                dev = self.device("sacrum-host", CENTRAL_ADDRESS)
                await dev.power_on()
                self._central = dev
            return self._central


def _radio(kwargs: dict[str, Any]) -> VirtualRadio:
    radio = kwargs.get("radio")
    if not isinstance(radio, VirtualRadio):
        raise BleakError("the Bumble backend needs radio=VirtualRadio() (the virtual link "
                         "shared with the virtual sensor)")
    return radio


def _bleak_error(op: str, attribute: Any, e: ATT_Error) -> BleakError:
    """An ATT error as the other bleak backends raise it: a BleakError naming the error."""
    return BleakError(f"GATT {op} of {attribute} refused: ATT error {e.error_name}")


def _ad_uuids(data: AdvertisingData) -> list[str]:
    out: list[str] = []
    for ad_type in (AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                    AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                    AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                    AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS):
        for value in data.get_all(ad_type):
            out += [bleak_uuid(u) for u in (value if isinstance(value, list) else [value])]
    return out


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend: LE scanning by the radio's central, active (scan responses)."""

    def __init__(self, detection_callback: Any, service_uuids: list[str] | None,
                 scanning_mode: str = "active", **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        self._radio = _radio(kwargs)
        self._device: Device | None = None
        # advertising and scan-response reports arrive apart: merge them per address
        self._merged: dict[str, dict[str, Any]] = {}

    async def start(self) -> None:
        self.seen_devices = {}
        self._merged = {}
        self._device = await self._radio.central()
        self._device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self._device.start_scanning(active=True, filter_duplicates=False)

    async def stop(self) -> None:
        if self._device is not None:
            self._device.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
            await self._device.stop_scanning()
            self._device = None

    def _on_advertisement(self, adv: Any) -> None:
        key = str(adv.address)
        m = self._merged.setdefault(key, {"name": None, "uuids": [], "service_data": {},
                                          "manufacturer_data": {}, "tx_power": None})
        data = adv.data
        name = (data.get(AdvertisingData.Type.COMPLETE_LOCAL_NAME)
                or data.get(AdvertisingData.Type.SHORTENED_LOCAL_NAME))
        if name:
            m["name"] = name if isinstance(name, str) else bytes(name).decode("utf-8", "replace")
        for u in _ad_uuids(data):
            if u not in m["uuids"]:
                m["uuids"].append(u)
        for sd in data.get_all(AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID):
            m["service_data"][bleak_uuid(sd[0])] = bytes(sd[1])
        for md in data.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA):
            m["manufacturer_data"][int(md[0])] = bytes(md[1])
        if not self.is_allowed_uuid(m["uuids"]):
            return
        ad = AdvertisementData(
            local_name=m["name"], manufacturer_data=dict(m["manufacturer_data"]),
            service_data=dict(m["service_data"]), service_uuids=list(m["uuids"]),
            tx_power=m["tx_power"], rssi=int(adv.rssi), platform_data=(adv,))
        address = key.split("/")[0]  # Bumble marks public addresses "/P"
        device = self.create_or_update_device(key, address, m["name"],
                                              {"bumble_address": adv.address}, ad)
        self.call_detection_callbacks(device, ad)


class BumbleClient(BaseBleakClient):
    """bleak client backend: a Bumble GATT client on the radio's central.

    ``mtu``: the ATT MTU to request after connecting (the peripheral may grant less).
    """

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device,
                         disconnected_callback=kwargs.pop("disconnected_callback", None),
                         timeout=kwargs.pop("timeout", 10.0))
        self._radio = _radio(kwargs)
        self._request_mtu = int(kwargs.get("mtu", _REQUESTED_MTU))
        details = (address_or_ble_device.details
                   if isinstance(address_or_ble_device, BLEDevice) else None)
        self._peer_address = (details or {}).get("bumble_address") if isinstance(
            details, dict) else None
        self._name = (address_or_ble_device.name
                      if isinstance(address_or_ble_device, BLEDevice) else None) or self.address
        self._conn: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._conn.att_mtu if self._conn is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._conn is not None

    async def _encrypt_if_bonded(self, central: Device, conn: Connection) -> None:
        """A bonded peer: encrypt with the stored keys, as an OS stack does by itself when a
        bonded device reconnects (no user action). Refused (the peer forgot the bond): the
        link stays plain and the sensor's refusals tell the user to pair again."""
        keystore = central.keystore
        if keystore is None or await keystore.get(str(conn.peer_address)) is None:
            return
        try:
            await asyncio.wait_for(conn.encrypt(), 5.0)
        except Exception as e:
            log.info("encrypting with the stored bond failed: %s", e)

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        timeout = kwargs.get("timeout", self._timeout)
        central = await self._radio.central()
        address = self._peer_address or hci.Address(self.address)
        try:
            conn = await asyncio.wait_for(central.connect(address), timeout)
        except TimeoutError as e:
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found "
                                           "(no connection within the timeout)") from e
        except Exception as e:  # Bumble's own errors: make them bleak's, as backends do
            raise BleakError(f"connecting to {self.address} failed: {e}") from e
        self._conn = conn
        self._closing = False
        conn.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        await self._encrypt_if_bonded(central, conn)
        if pair:
            await self.pair()
        peer = Peer(conn)
        self._peer = peer
        try:
            await peer.request_mtu(self._request_mtu)
            await peer.discover_services()
            for service in peer.services:
                await service.discover_characteristics()
                for characteristic in service.characteristics:
                    await characteristic.discover_descriptors()
        except Exception as e:
            await self._drop()
            raise BleakError(f"GATT discovery on {self.address} failed: {e}") from e
        self.services = self._collection(peer)

    def _collection(self, peer: Peer) -> BleakGATTServiceCollection:
        coll = BleakGATTServiceCollection()
        for svc in peer.services:
            bs = BleakGATTService(svc, svc.handle, bleak_uuid(svc.uuid))
            coll.add_service(bs)
            for ch in svc.characteristics:
                props = [name for bit, name in _PROPERTY_NAMES if int(ch.properties) & bit]
                bc = BleakGATTCharacteristic(ch, ch.handle, bleak_uuid(ch.uuid), props,
                                             lambda: self.mtu_size - 3, bs)
                coll.add_characteristic(bc)
                for d in ch.descriptors:
                    coll.add_descriptor(BleakGATTDescriptor(d, d.handle, bleak_uuid(d.type), bc))
        return coll

    def _on_disconnection(self, reason: int) -> None:
        self._conn = None
        self._peer = None
        self.services = None
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()  # unsolicited only, as bleak specifies

    async def _drop(self) -> None:
        conn = self._conn
        if conn is None:
            return
        self._closing = True
        done = asyncio.get_running_loop().create_future()
        conn.once(Connection.EVENT_DISCONNECTION, lambda *_: done.done() or done.set_result(None))
        try:
            await conn.disconnect()
            await asyncio.wait_for(done, 5.0)
        except Exception as e:  # already gone: nothing left to do
            log.debug("disconnect: %s", e)
        self._conn = None

    async def disconnect(self) -> None:
        await self._drop()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Pair and bond (LE Secure Connections, Just Works: what the sensor offers); the
        keys go to the central's key store, so later connections encrypt by themselves."""
        self._need()
        assert self._conn is not None
        try:
            await asyncio.wait_for(self._conn.pair(), 15.0)
        except Exception as e:
            raise BleakError(f"pairing with {self.address} failed: {e}") from e

    async def unpair(self) -> None:
        central = await self._radio.central()
        if central.keystore is not None:
            with contextlib.suppress(Exception):
                await central.keystore.delete(str(self._peer_address or self.address))

    def _need(self) -> None:
        if self._conn is None:
            raise BleakError(f"not connected to {self.address}")

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any
                             ) -> bytearray:
        self._need()
        try:
            return bytearray(await characteristic.obj.read_value())
        except ATT_Error as e:
            raise _bleak_error("read", characteristic, e) from e

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any
                                   ) -> bytearray:
        self._need()
        try:
            return bytearray(await descriptor.obj.read_value())
        except ATT_Error as e:
            raise _bleak_error("read", descriptor, e) from e

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any,
                              response: bool) -> None:
        self._need()
        try:
            await characteristic.obj.write_value(bytes(data), with_response=response)
        except ATT_Error as e:
            if e.error_code in (ATT_INSUFFICIENT_ENCRYPTION_ERROR,
                                ATT_INSUFFICIENT_AUTHENTICATION_ERROR):
                raise BleakError(INSUFFICIENT_ENCRYPTION) from e
            raise _bleak_error("write", characteristic, e) from e

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        self._need()
        try:
            await descriptor.obj.write_value(bytes(data), with_response=True)
        except ATT_Error as e:
            raise _bleak_error("write", descriptor, e) from e

    async def start_notify(self, characteristic: BleakGATTCharacteristic,
                           callback: NotifyCallback, **kwargs: Any) -> None:
        self._need()
        await characteristic.obj.subscribe(lambda value: callback(bytearray(value)),
                                           prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._need()
        await characteristic.obj.unsubscribe()

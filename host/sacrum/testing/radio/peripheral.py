"""The Bumble peripheral behind MicroPython's ``bluetooth`` module on the unix port.

``firmware/sim/unix_bluetooth/bluetooth.py`` (in the MicroPython process) relays the
firmware's ``bluetooth.BLE`` calls over a TCP socket on localhost to a
:class:`RadioPeripheral` (in this process), which carries them out on a Bumble ``Device``
whose controller (:class:`~sacrum.testing.radio.airtime.AirtimeController`) sits on
Bumble's virtual link, and sends the stack's events back. What the module keeps itself
(the attribute values, the connection table, the IRQ handler) and what it asks for is
documented there; this side does what only a host stack can:

* ``gatts_register_services``: builds the GATT database (properties from the flags;
  reads and writes refused with ATT errors where the flags do not allow them, CCCDs
  added for notify/indicate) and answers the value handles Bumble gave, in order.
* ``gap_advertise``: legacy advertising with the firmware's own bytes (adv data and scan
  response), stopped on connection by the controller, as on a chip.
* a central's write: sent to the module as ``_IRQ_GATTS_WRITE`` with the value; the ATT
  Write Response waits until the handler has run (the ESP32 port runs the handler inside
  NimBLE's access callback).
* ``gatts_notify``: an ATT notification, whether or not the central subscribed, the
  value truncated to ATT_MTU - 3; after each one, and whenever the controller completes
  packets, the module hears how many ACL fragments the stack still holds, which is what
  makes it refuse the next notification with ENOMEM.
* keys: the stack keeps none; Bumble's key store here (:class:`SecretKeyStore`) asks the
  module, which asks the firmware's handler (``_IRQ_GET_SECRET``/``_IRQ_SET_SECRET``), so
  bonds live in the firmware's own store and survive its restart. A connection counts as
  bonded (``_IRQ_ENCRYPTION_UPDATE``) only when its keys are in that store: stored when it
  paired (the handler answered True) or found there when it encrypted again.
* MTU exchanges either way become ``_IRQ_MTU_EXCHANGED``; connections and disconnections
  ``_IRQ_CENTRAL_CONNECT``/``_DISCONNECT``.

Wire: each message is ``u8 kind, u16 length, payload`` (little endian); the kinds are the
``K_*`` constants, the same numbers as in the module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
from dataclasses import dataclass, field
from typing import Any

from bumble import att, gatt, hci, keys, pairing
from bumble.core import UUID
from bumble.device import Connection, Device, Peer
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from sacrum.testing.radio.airtime import AirtimeController

log = logging.getLogger(__name__)

K_CALL, K_REPLY, K_NOTIFY, K_VALUE = 0x43, 0x52, 0x4E, 0x56
K_EXCHANGE, K_ACK, K_EVENT, K_FLOW = 0x4D, 0x41, 0x45, 0x46
K_SECRET, K_SECRET_REPLY = 0x53, 0x73
SEC_TYPE_PEER = 2  # one record per peer: NimBLE's BLE_STORE_OBJ_TYPE_PEER_SEC
IRQ_CENTRAL_CONNECT, IRQ_CENTRAL_DISCONNECT, IRQ_GATTS_WRITE, IRQ_MTU_EXCHANGED = 1, 2, 3, 21
IRQ_ENCRYPTION_UPDATE = 28
FLAG_READ, FLAG_WRITE_NO_RESPONSE, FLAG_WRITE = 0x0002, 0x0004, 0x0008
FLAG_NOTIFY, FLAG_INDICATE = 0x0010, 0x0020
FLAG_READ_ENCRYPTED, FLAG_READ_AUTHENTICATED = 0x0200, 0x0400
FLAG_WRITE_ENCRYPTED, FLAG_WRITE_AUTHENTICATED = 0x1000, 0x2000
_EIO, _EINVAL, _EBUSY, _ENOTCONN, _EALREADY = 5, 22, 16, 107, 114
_L2CAP_ATT_HEADER = 7  # L2CAP (4) + ATT notification (3) bytes around a value
_WRITE_ACK_TIMEOUT_S = 2.0  # a handler that never returns: the write is answered anyway
DEFAULT_TX_BUFFERS = 24  # ACL fragments the stack holds before ENOMEM (NimBLE's ACL bufs)

SENSOR_ADDRESS = "F0:5A:C1:00:00:02"


@dataclass
class RadioStats:
    """What crossed the radio, counted on the stack's side."""

    calls: int = 0
    notifications: int = 0  # sent on the link
    notify_bytes: int = 0
    notify_truncated: int = 0  # longer than ATT_MTU - 3: cut, as the stack does
    notify_dead: int = 0  # for a connection already gone (lost with the link)
    notify_dead_by_handle: dict[int, int] = field(default_factory=dict)
    writes: int = 0  # central writes relayed as _IRQ_GATTS_WRITE
    writes_refused: int = 0  # to attributes whose flags do not allow writing
    write_acks_late: int = 0  # the handler did not return in time
    connections: int = 0
    disconnections: int = 0
    mtu_events: int = 0
    advertise_calls: int = 0
    writes_refused_unencrypted: int = 0  # to a _FLAG_WRITE_ENCRYPTED attribute, plain link
    secret_gets: int = 0
    secret_sets: int = 0
    secret_sets_refused: int = 0  # the firmware's handler did not store the keys


class RadioPeripheral:
    """A Bumble peripheral driven by MicroPython's ``bluetooth`` module over a socket.

    link: Bumble's ``LocalLink`` shared with the central (``VirtualRadio.link``);
    address: the peripheral's public address; tx_buffers: the stack's transmit buffers
    in ACL fragments (ENOMEM beyond them); interval_s, pdus_per_event, buffers: the
    controller's air time (:class:`AirtimeController`).
    """

    def __init__(self, link: LocalLink, address: str = SENSOR_ADDRESS, *,
                 tx_buffers: int = DEFAULT_TX_BUFFERS, interval_s: float = 0.0075,
                 pdus_per_event: int = 6, buffers: int = 12) -> None:
        self.address = address
        self.tx_buffers = tx_buffers
        self.controller = AirtimeController(
            "radio-peripheral", link=link, public_address=address, interval_s=interval_s,
            pdus_per_event=pdus_per_event, buffers=buffers)
        self.device = Device(name="MPY ESP32", address=hci.Address(address),
                             host=Host(self.controller, AsyncPipeSink(self.controller)))
        self.stats = RadioStats()
        self.conn: Connection | None = None
        self.mtu = 256  # what config(mtu=) offers; the module's default (ESP-IDF's)
        self.values: dict[int, bytes] = {}  # value handle -> value as gatts_write set it
        self.flags: dict[int, int] = {}
        self.chars: dict[int, gatt.Characteristic] = {}
        self.registered = False
        # config(bond=, mitm=, io=, le_secure=); io 3: no input, no output (the board's)
        self.security: dict[str, Any] = {"bond": False, "mitm": False, "io": 3,
                                         "le_secure": False}
        self._bonded: set[int] = set()  # connections whose keys are in the firmware's store
        self._secret_ids = 0
        self._secrets: dict[int, asyncio.Future[Any]] = {}
        self._calls: set[asyncio.Task[None]] = set()
        self.keystore = SecretKeyStore(self)
        self.device.keystore = self.keystore
        self.advertising = False
        self.powered = False
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.base_events.Server | None = None
        self._acks: dict[tuple[int, int], list[asyncio.Future[None]]] = {}
        self._seen = 0  # ACL fragments of the module's notifications received
        self._flow_due = False
        self._client_done = asyncio.Event()
        self.closed = asyncio.Event()  # the module's socket closed
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self._on_drop_notify: list[Any] = []  # test hooks: called with each notify

    # -- the socket ------------------------------------------------------------------------
    async def listen(self) -> int:
        """Start listening on localhost; returns the port (SACRUM_RADIO_PORT)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """End the run: drop the link, stop advertising, close the module's socket
        (the firmware sees the radio go away and its run ends)."""
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.disconnect()
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None:
            log.warning("radio: a second MicroPython process connected; refused")
            writer.close()  # one MicroPython process per radio
            return
        self._writer = writer
        try:
            while True:
                head = await reader.readexactly(3)
                kind, n = struct.unpack("<BH", head)
                body = await reader.readexactly(n) if n else b""
                await self._message(kind, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:  # a bug on this side: the module sees the radio go away
            log.exception("radio: the Bumble side failed")
            raise
        finally:
            self._writer = None
            self.closed.set()

    def _send(self, kind: int, payload: bytes) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(struct.pack("<BH", kind, len(payload)) + payload)

    async def _message(self, kind: int, body: bytes) -> None:
        if kind == K_NOTIFY:
            conn, handle = struct.unpack_from("<HH", body)
            self._notify(conn, handle, body[4:])
        elif kind == K_CALL:
            # run beside the reader: the stack may need a secret from the module meanwhile
            # (the key store during power-on or pairing), and its answer arrives here; the
            # module sends nothing else until the reply (its calls are synchronous)
            self.stats.calls += 1
            method, *args = json.loads(body)
            task = asyncio.get_running_loop().create_task(self._run_call(method, args))
            self._calls.add(task)
            task.add_done_callback(self._calls.discard)
        elif kind == K_VALUE:
            handle, update = struct.unpack_from("<HB", body)
            await self._set_value(handle, body[3:], bool(update))
        elif kind == K_EXCHANGE:
            (conn,) = struct.unpack_from("<H", body)
            if self.conn is not None and self.conn.handle == conn:
                asyncio.get_running_loop().create_task(self._exchange_mtu(self.conn))
        elif kind == K_SECRET_REPLY:
            rid, answer = json.loads(body)
            fut = self._secrets.pop(rid, None)
            if fut is not None and not fut.done():
                fut.set_result(answer)
        elif kind == K_ACK:
            conn, handle = struct.unpack_from("<HH", body)
            waiting = self._acks.get((conn, handle))
            if waiting:
                fut = waiting.pop(0)
                if not fut.done():
                    fut.set_result(None)
        else:
            log.warning("radio: unknown message kind 0x%02x", kind)

    async def _run_call(self, method: str, args: list[Any]) -> None:
        try:
            result = await getattr(self, "_call_" + method)(*args)
            err = 0
        except OSError as e:
            err, result = e.errno or _EINVAL, None
        except Exception:  # the stack failed: the call fails, the radio stays up
            log.exception("radio: %s%r failed in the Bumble stack", method, tuple(args))
            err, result = _EIO, None
        self._send(K_REPLY, json.dumps([err, result]).encode())

    async def secret(self, *request: Any) -> Any:
        """Ask the module's handler (``_IRQ_GET_SECRET``/``_SET_SECRET``); None when the
        MicroPython side is gone or does not answer within 2 s."""
        if self._writer is None:
            return None
        self._secret_ids += 1
        rid = self._secret_ids
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._secrets[rid] = fut
        self._send(K_SECRET, json.dumps([rid, *request]).encode())
        try:
            return await asyncio.wait_for(fut, 2.0)
        except TimeoutError:
            self._secrets.pop(rid, None)
            return None

    def _event(self, event: int, payload: bytes) -> None:
        self._send(K_EVENT, bytes((event,)) + payload)

    # -- calls (each answered: errno 0 and a result, or an errno) ------------------------------
    async def _call_active(self, on: bool) -> dict[str, int]:
        if on and not self.powered:
            await self.device.power_on()
            self.device.gatt_server.max_mtu = self.mtu
            self.powered = True
            queue = self.device.host.le_acl_packet_queue
            queue.on("flow", self._flow_soon)
        elif not on:
            await self.close_link()
            with contextlib.suppress(Exception):
                await self.device.stop_advertising()
        queue = self.device.host.le_acl_packet_queue
        return {"fragment": queue.max_packet_size, "tx_buffers": self.tx_buffers}

    async def _call_mtu(self, mtu: int) -> None:
        self.mtu = mtu
        self.device.gatt_server.max_mtu = mtu

    async def _call_gap_name(self, name: str) -> None:
        self.device.name = name

    async def _call_mac(self) -> list[int]:
        return list(reversed(hci.Address(self.address).address_bytes))

    async def _call_config(self, key: str, value: Any) -> None:
        """config(bond=, mitm=, io=, le_secure=): what the stack's SMP offers when pairing
        (Bumble's SMP: LE Secure Connections when le_secure, else legacy pairing too)."""
        if key not in self.security:
            raise OSError(_EINVAL)
        self.security[key] = int(value) if key == "io" else bool(value)
        self.device.pairing_config_factory = self._pairing_config

    def _pairing_config(self, connection: Connection) -> pairing.PairingConfig:
        sec = self.security
        return pairing.PairingConfig(
            sc=sec["le_secure"], mitm=sec["mitm"], bonding=sec["bond"],
            delegate=pairing.PairingDelegate(io_capability=sec["io"]),
            # the identity a bonded central finds again: the address we advertise with
            identity_address_type=pairing.PairingConfig.AddressType.RANDOM)

    async def _call_pair(self, conn: int) -> None:
        if self.conn is None or self.conn.handle != conn:
            raise OSError(_ENOTCONN)
        asyncio.get_running_loop().create_task(self._pair(self.conn))

    async def _pair(self, conn: Connection) -> None:
        try:
            await conn.pair()
        except Exception as e:  # refused or failed: the encryption state says so
            log.info("pairing: %s", e)

    async def _call_disconnect(self, conn: int) -> None:
        if self.conn is None or self.conn.handle != conn:
            raise OSError(_ENOTCONN)
        await self.conn.disconnect()

    async def _call_advertise(self, spec: list[Any] | None) -> None:
        self.stats.advertise_calls += 1
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        self.advertising = False
        if spec is None:
            return
        interval_us, adv_hex, resp_hex, connectable = spec
        ms = max(20.0, interval_us / 1000)
        from bumble.device import AdvertisingType

        await self.device.start_advertising(
            advertising_type=(AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE if connectable
                              else AdvertisingType.UNDIRECTED_SCANNABLE),
            own_address_type=hci.OwnAddressType.RANDOM,  # LocalLink routes LE by it
            advertising_data=bytes.fromhex(adv_hex), scan_response_data=bytes.fromhex(resp_hex),
            advertising_interval_min=ms, advertising_interval_max=ms)
        self.advertising = True

    async def _call_register(self, spec: list[Any]) -> list[list[int]]:
        if self.conn is not None:
            raise OSError(_EBUSY)
        if self.registered:
            raise OSError(_EALREADY)  # Bumble cannot take services away again
        services: list[gatt.Service] = []
        order: list[list[Any]] = []
        for svc_uuid, chars in spec:
            cs = []
            items: list[Any] = []
            for c_uuid, flags, descs in chars:
                ds = [gatt.Descriptor(_uuid(d_uuid), self._permissions(d_flags), b"")
                      for d_uuid, d_flags in descs]
                char = gatt.Characteristic(_uuid(c_uuid), gatt.Characteristic.Properties(
                    flags & 0xFF), self._permissions(flags), None, descriptors=ds)
                char.value = self._value_access(char, flags)
                items.append(char)
                for desc, (_, d_flags) in zip(ds, descs, strict=True):
                    desc.value = self._value_access(desc, d_flags)
                    items.append(desc)
                cs.append(char)
            services.append(gatt.Service(_uuid(svc_uuid), cs))
            order.append(items)
        self.device.add_services(services)
        self.registered = True
        self._refuse_writes_where_not_permitted()
        handles = []
        for items in order:
            hs = []
            for item in items:
                hs.append(item.handle)
                self.values[item.handle] = b""
                self.flags[item.handle] = item.mp_flags
                if isinstance(item, gatt.Characteristic):
                    self.chars[item.handle] = item
            handles.append(hs)
        return handles

    def _refuse_writes_where_not_permitted(self) -> None:
        """Bumble's server does not check write permissions (a TODO in gatt_server.py; a
        write to its read-only GATT service's Database Hash even hangs the request); NimBLE
        answers ATT Write Not Permitted. So every attribute without the WRITEABLE
        permission refuses writes here (the firmware's own are checked in _value_access)."""

        def refuse(connection: Connection, value: bytes) -> None:
            self.stats.writes_refused += 1
            raise att.ATT_Error(att.ATT_WRITE_NOT_PERMITTED_ERROR)

        for attr in self.device.gatt_server.attributes:
            if attr.permissions & gatt.Attribute.WRITEABLE:
                continue
            value = attr.value
            if isinstance(value, att.AttributeValue | att.AttributeValueV2):
                value._write = refuse  # Bumble keeps the callbacks as these attributes
            elif isinstance(value, bytes | bytearray):
                attr.value = att.AttributeValue(read=lambda c, v=bytes(value): v, write=refuse)

    @staticmethod
    def _permissions(flags: int) -> gatt.Attribute.Permissions:
        p = gatt.Attribute.Permissions(0)
        if flags & FLAG_READ:
            p |= gatt.Characteristic.READABLE
            if flags & FLAG_READ_ENCRYPTED:
                p |= gatt.Characteristic.READ_REQUIRES_ENCRYPTION
            if flags & FLAG_READ_AUTHENTICATED:
                p |= gatt.Characteristic.READ_REQUIRES_AUTHENTICATION
        if flags & (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE):
            p |= gatt.Characteristic.WRITEABLE
            # FLAG_WRITE_ENCRYPTED is checked in _value_access (to count the refusals)
            if flags & FLAG_WRITE_AUTHENTICATED:
                p |= gatt.Characteristic.WRITE_REQUIRES_AUTHENTICATION
        return p

    def _value_access(self, attr: Any, flags: int) -> gatt.CharacteristicValue:
        """Reads answered from the values gatts_write set; writes relayed to the module."""
        attr.mp_flags = flags

        def read(connection: Connection) -> bytes:
            if not flags & FLAG_READ:
                raise att.ATT_Error(att.ATT_READ_NOT_PERMITTED_ERROR)
            return self.values.get(attr.handle, b"")

        async def write(connection: Connection, value: bytes) -> None:
            if not flags & (FLAG_WRITE | FLAG_WRITE_NO_RESPONSE):
                self.stats.writes_refused += 1
                raise att.ATT_Error(att.ATT_WRITE_NOT_PERMITTED_ERROR)
            if flags & FLAG_WRITE_ENCRYPTED and not connection.is_encrypted:
                self.stats.writes_refused_unencrypted += 1  # as NimBLE's ATT layer answers
                raise att.ATT_Error(att.ATT_INSUFFICIENT_ENCRYPTION_ERROR)
            await self._relay_write(connection, attr.handle, bytes(value))

        return gatt.CharacteristicValue(read=read, write=write)

    async def _relay_write(self, connection: Connection, handle: int, value: bytes) -> None:
        self.stats.writes += 1
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks.setdefault((connection.handle, handle), []).append(fut)
        self._event(IRQ_GATTS_WRITE, struct.pack("<HHB", connection.handle, handle, 1) + value)
        try:
            await asyncio.wait_for(fut, _WRITE_ACK_TIMEOUT_S)
        except TimeoutError:
            self.stats.write_acks_late += 1
            with contextlib.suppress(ValueError):
                self._acks[(connection.handle, handle)].remove(fut)

    async def _set_value(self, handle: int, value: bytes, update: bool) -> None:
        self.values[handle] = value
        char = self.chars.get(handle)
        if update and char is not None and self.conn is not None:
            with contextlib.suppress(Exception):
                await self.device.notify_subscriber(self.conn, char, value)

    # -- notifications and flow ----------------------------------------------------------------
    def _notify(self, conn: int, handle: int, value: bytes) -> None:
        self._seen += -(-(len(value) + _L2CAP_ATT_HEADER)
                        // self.device.host.le_acl_packet_queue.max_packet_size)
        for hook in list(self._on_drop_notify):
            hook(conn, handle, value)
        c = self.conn
        if c is None or c.handle != conn:
            self.stats.notify_dead += 1
            self.stats.notify_dead_by_handle[handle] = (
                self.stats.notify_dead_by_handle.get(handle, 0) + 1)
        else:
            room = c.att_mtu - 3
            if len(value) > room:
                self.stats.notify_truncated += 1
                value = value[:room]
            pdu = att.ATT_Handle_Value_Notification(attribute_handle=handle,
                                                    attribute_value=value)
            self.device.gatt_server.send_gatt_pdu(c, bytes(pdu))
            self.stats.notifications += 1
            self.stats.notify_bytes += len(value)
        self._flow_soon()

    def _flow_soon(self) -> None:
        if not self._flow_due:
            self._flow_due = True
            asyncio.get_running_loop().call_soon(self._flow)

    def _flow(self) -> None:
        self._flow_due = False
        if self.conn is None:
            return
        pending = self.device.host.le_acl_packet_queue.pending
        self._send(K_FLOW, struct.pack("<HII", self.conn.handle, pending, self._seen))

    # -- the link ------------------------------------------------------------------------------
    def _on_connection(self, conn: Connection) -> None:
        if conn.role != hci.Role.PERIPHERAL:
            return
        self.conn = conn
        self.advertising = False
        self.stats.connections += 1
        conn.on(Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(conn))
        conn.on(Connection.EVENT_CONNECTION_ATT_MTU_UPDATE, lambda: self._on_mtu(conn))
        conn.on(Connection.EVENT_PAIRING, lambda keys: self._on_pairing(conn))
        conn.on(Connection.EVENT_CONNECTION_ENCRYPTION_CHANGE,
                lambda: self._on_encryption(conn))
        self._event(IRQ_CENTRAL_CONNECT, _conn_fields(conn))

    def _on_disconnection(self, conn: Connection) -> None:
        if self.conn is conn:
            self.conn = None
        self._bonded.discard(conn.handle)
        self.stats.disconnections += 1
        for key in [k for k in self._acks if k[0] == conn.handle]:
            for fut in self._acks.pop(key):
                if not fut.done():
                    fut.set_result(None)
        self._event(IRQ_CENTRAL_DISCONNECT, _conn_fields(conn))

    def _on_pairing(self, conn: Connection) -> None:
        if self.security["bond"] and self.keystore.stored(conn.peer_address):
            self._bonded.add(conn.handle)
        self._on_encryption(conn)  # bonded now known

    def _on_encryption(self, conn: Connection) -> None:
        """_IRQ_ENCRYPTION_UPDATE: (conn_handle, encrypted, authenticated, bonded, key_size)."""
        if conn.is_encrypted and self.keystore.stored(conn.peer_address):
            self._bonded.add(conn.handle)  # encrypted again with keys from the store
        self._event(IRQ_ENCRYPTION_UPDATE, struct.pack(
            "<HBBBB", conn.handle, 1 if conn.is_encrypted else 0,
            1 if conn.authenticated else 0, 1 if conn.handle in self._bonded else 0,
            conn.encryption_key_size or (16 if conn.is_encrypted else 0)))

    def _on_mtu(self, conn: Connection) -> None:
        self.stats.mtu_events += 1
        self._event(IRQ_MTU_EXCHANGED, struct.pack("<HH", conn.handle, conn.att_mtu))

    async def _exchange_mtu(self, conn: Connection) -> None:
        try:
            await Peer(conn).request_mtu(self.mtu)
        except Exception as e:  # the link went away meanwhile: nothing to exchange
            log.debug("MTU exchange: %s", e)

    async def close_link(self) -> None:
        """Drop the connection from the peripheral's side (as a reset board would)."""
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.disconnect()

    async def lose_link(self) -> None:
        """The link breaks (out of range: a supervision timeout on both sides)."""
        await self.close_link()


class SecretKeyStore(keys.KeyStore):
    """Bumble's key store, kept by the firmware: every get and update goes through the
    module to ``_IRQ_GET_SECRET``/``_IRQ_SET_SECRET`` (sec_type 2, key: the peer's address
    as Bumble names it, value: JSON ``{"name", "keys"}`` so a by-index read names it)."""

    def __init__(self, peripheral: RadioPeripheral) -> None:
        self.peripheral = peripheral
        self._stored: set[str] = set()  # peers whose keys the firmware stored or gave back

    def stored(self, address: hci.Address) -> bool:
        return _peer_name(str(address)) in self._stored

    async def update(self, name: str, keys_: keys.PairingKeys) -> None:
        name = _peer_name(name)
        self.peripheral.stats.secret_sets += 1
        value = json.dumps({"name": name, "keys": keys_.to_dict()}).encode()
        ok = await self.peripheral.secret("set", SEC_TYPE_PEER, name.encode().hex(), value.hex())
        log.debug("key store: set %s: %s", name, ok)
        if ok is True:
            self._stored.add(name)
        else:
            self.peripheral.stats.secret_sets_refused += 1
            self._stored.discard(name)
            log.info("pairing: the firmware did not store the keys of %s (no bond)", name)

    async def get(self, name: str) -> keys.PairingKeys | None:
        name = _peer_name(name)
        self.peripheral.stats.secret_gets += 1
        found = await self.peripheral.secret("get", SEC_TYPE_PEER, 0, name.encode().hex())
        entry = _entry(found)
        log.debug("key store: get %s: %s", name, "found" if entry else "none")
        if entry is None:
            self._stored.discard(name)
            return None
        self._stored.add(name)
        return keys.PairingKeys.from_dict(entry["keys"])

    async def get_all(self) -> list[tuple[str, keys.PairingKeys]]:
        out = []
        for index in range(64):
            entry = _entry(await self.peripheral.secret("get", SEC_TYPE_PEER, index, None))
            if entry is None:
                break
            out.append((entry["name"], keys.PairingKeys.from_dict(entry["keys"])))
        return out

    async def delete(self, name: str) -> None:
        name = _peer_name(name)
        await self.peripheral.secret("set", SEC_TYPE_PEER, name.encode().hex(), None)
        self._stored.discard(name)

    async def delete_all(self) -> None:
        for name, _ in await self.get_all():
            await self.delete(name)


def _peer_name(name: str) -> str:
    """Bumble names a peer "AA:BB:..:FF/P" (pairing) or without the type suffix (the LTK
    request): the store's key is the address alone."""
    return name.split("/")[0].upper()


def _entry(found: Any) -> dict[str, Any] | None:
    """A stored value (hex of the JSON) back, or None if absent or not ours."""
    if not isinstance(found, str):
        return None
    try:
        entry = json.loads(bytes.fromhex(found))
    except ValueError:
        return None
    return entry if isinstance(entry, dict) and "keys" in entry and "name" in entry else None


def _conn_fields(conn: Connection) -> bytes:
    """conn_handle, addr_type, addr as MicroPython gives them (addr most significant first)."""
    addr = conn.peer_address
    return (struct.pack("<HB", conn.handle, 0 if addr.is_public else 1)
            + bytes(reversed(addr.address_bytes)))


def _uuid(value: int | str) -> UUID:
    return UUID.from_16_bits(value) if isinstance(value, int) else UUID(value)

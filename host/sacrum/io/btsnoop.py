"""Import the sacrum ATT traffic from a btsnoop HCI capture.

A btsnoop file is what Android's "Bluetooth HCI snoop log" and Linux's
``btmon -w`` write: every HCI packet that crossed between the host stack and
the controller, with a timestamp. This module pulls out of it the values of the
sacrum GATT service (SPEC.md §3) so that a session recorded by another app can
be written into a sacrum capture (SPEC.md §5, transport ``"btsnoop-import"``).

Steps of :func:`read_btsnoop`:

1. Check the 16-byte file header (magic, version, datalink) and read the
   records one by one; a record cut short by the end of the file ends the read
   (``truncated``) and keeps everything before it.
2. Classify each packet as HCI command, event or ACL data and its direction,
   according to the datalink: 1001 (un-encapsulated HCI: flags bit 1 tells
   command/event from data), 1002 (HCI UART/H4: the first byte is the H4 packet
   type) or 2001 (Linux monitor: flags = adapter index << 16 | opcode).
3. Follow connections from the HCI events (LE connection complete,
   disconnection complete), so that a connection handle the controller reuses
   for another link is not mistaken for the same link.
4. Reassemble L2CAP basic frames from ACL fragments per connection and
   direction; keep the ATT fixed channel (CID 0x0004).
5. Decode the ATT PDUs: notifications and indications (server to client),
   write commands, write requests and long writes (client to server), and the
   GATT discovery responses that name the sacrum characteristics' UUIDs.
6. Assign the attribute handles of the data, response and control
   characteristics: handles given by the caller win, then those learnt from
   GATT discovery in the file, then a content heuristic (phones cache the GATT
   database, so a capture of a reconnection often holds no discovery at all).
7. Keep the values on those handles, in file order, from the connections that
   carry sacrum traffic, and count everything that was skipped, by reason.

Timestamps are converted to ns since the Unix epoch. btsnoop timestamps are the
capturing machine's clock; some Android builds add the time-zone offset (local
time rather than UTC), so check ``start_time_ns`` against the session's known
time.

Not handled: Enhanced ATT (ATT over L2CAP credit-based channels, counted as
``other-cid``), BR/EDR ATT, and the H5/BCSP datalinks.
"""

from __future__ import annotations

import logging
import os
import struct
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO, NamedTuple

import sacrum_protocol as proto

logger = logging.getLogger(__name__)

__all__ = ["AttRecord", "BtsnoopError", "BtsnoopImport", "read_btsnoop"]

# --- btsnoop file format ------------------------------------------------------
BTSNOOP_MAGIC = b"btsnoop\0"
BTSNOOP_VERSION = 1
_FILE_HEADER = struct.Struct(">8sII")
# original length, included length, flags, cumulative drops, timestamp (µs)
_RECORD_HEADER = struct.Struct(">IIIIq")
# µs from 0000-01-01 (nominal Gregorian, the btsnoop epoch) to 1970-01-01
BTSNOOP_EPOCH_DELTA_US = 0x00DCDDB30F2F8000

DATALINK_H1 = 1001  # un-encapsulated HCI
DATALINK_H4 = 1002  # HCI UART: H4 packet-type byte first
DATALINK_MONITOR = 2001  # Linux Bluetooth monitor (btmon)
DATALINK_NAMES = {
    1001: "un-encapsulated HCI (H1)",
    1002: "HCI UART (H4)",
    1003: "HCI BCSP",
    1004: "HCI three-wire UART (H5)",
    2001: "Linux Bluetooth monitor",
}
SUPPORTED_DATALINKS = (DATALINK_H1, DATALINK_H4, DATALINK_MONITOR)

# --- HCI ----------------------------------------------------------------------
H4_COMMAND = 0x01
H4_ACL = 0x02
H4_EVENT = 0x04
H4_TYPES = (0x01, 0x02, 0x03, 0x04, 0x05)  # command, ACL, SCO, event, ISO
MONITOR_COMMAND = 2
MONITOR_EVENT = 3
MONITOR_ACL_TX = 4
MONITOR_ACL_RX = 5
HOST_TO_CONTROLLER = 0
CONTROLLER_TO_HOST = 1
ACL_PB_CONTINUATION = 0b01
EVENT_DISCONNECTION_COMPLETE = 0x05
EVENT_LE_META = 0x3E
# LE connection complete, enhanced connection complete (v1 and v2)
LE_CONNECTION_COMPLETE_SUBEVENTS = (0x01, 0x0A, 0x29)

# --- L2CAP and ATT ------------------------------------------------------------
L2CAP_HEADER_SIZE = 4
L2CAP_CID_ATT = 0x0004
ATT_FIND_INFORMATION_RESPONSE = 0x05
ATT_READ_BY_TYPE_REQUEST = 0x08
ATT_READ_BY_TYPE_RESPONSE = 0x09
ATT_READ_BY_GROUP_TYPE_RESPONSE = 0x11
ATT_WRITE_REQUEST = 0x12
ATT_PREPARE_WRITE_REQUEST = 0x16
ATT_EXECUTE_WRITE_REQUEST = 0x18
ATT_HANDLE_VALUE_NOTIFICATION = 0x1B
ATT_HANDLE_VALUE_INDICATION = 0x1D
ATT_MULTIPLE_HANDLE_VALUE_NOTIFICATION = 0x23
ATT_WRITE_COMMAND = 0x52
ATT_SIGNED_WRITE_COMMAND = 0xD2
ATT_SIGNATURE_SIZE = 12
GATT_PRIMARY_SERVICE_UUID16 = 0x2800
GATT_CHARACTERISTIC_UUID16 = 0x2803

# --- sacrum GATT layout (SPEC.md §3) and channels (SPEC.md §5.3) --------------
ROLE_CHANNELS = {
    "data": proto.CH_BLE_DATA,
    "response": proto.CH_BLE_RESPONSE,
    "control": proto.CH_BLE_CONTROL,
}


def _uuid_on_the_wire(text: str) -> bytes:
    """A 128-bit UUID as ATT carries it: little-endian."""
    return uuid.UUID(text).bytes[::-1]


SERVICE_UUID_WIRE = _uuid_on_the_wire(proto.SERVICE_UUID)
CHARACTERISTIC_ROLES = {
    _uuid_on_the_wire(proto.DATA_CHAR_UUID): "data",
    _uuid_on_the_wire(proto.RESPONSE_CHAR_UUID): "response",
    _uuid_on_the_wire(proto.CONTROL_CHAR_UUID): "control",
}

HANDLE_SOURCES = ("gatt-discovery", "heuristic", "given")

_NOTIFY = "notify"  # server -> client: notification or indication
_WRITE = "write"  # client -> server: write command, write request, long write


class BtsnoopError(ValueError):
    """A btsnoop file that cannot be read, or holds no sacrum traffic."""


@dataclass(frozen=True)
class AttRecord:
    """One ATT value of the sacrum service.

    Attributes:
        host_time_ns: the capture timestamp of the packet that completed the
            value, ns since the Unix epoch.
        channel: capture channel (SPEC.md §5.3): 1 ``BLE_DATA`` and
            2 ``BLE_RESPONSE`` are notified values, 3 ``BLE_CONTROL`` a value
            written to the control characteristic.
        value: the attribute value exactly as carried.
        connection_handle: HCI connection handle of the link it travelled on.
    """

    host_time_ns: int
    channel: int
    value: bytes
    connection_handle: int


@dataclass
class BtsnoopImport:
    """What :func:`read_btsnoop` found.

    Attributes:
        records: the sacrum ATT values, in file order.
        datalink: btsnoop datalink type of the file (1001, 1002 or 2001).
        handles: attribute handle of each characteristic identified, by role
            (``"data"``, ``"response"``, ``"control"``).
        handle_source: ``"given"`` if any handle was passed by the caller
            (the others, if any, were still looked up), else
            ``"gatt-discovery"`` if any came from GATT discovery in the file,
            else ``"heuristic"``.
        packets_read: btsnoop records read.
        acl_fragments: HCI ACL data packets among them.
        truncated: the file ends inside a record; the records before it were read.
        skipped: counts of what was left out, by reason.
        start_time_ns: host time of the first record, ns since the Unix epoch;
            None when there are no records.
    """

    records: list[AttRecord]
    datalink: int
    handles: dict[str, int]
    handle_source: str
    packets_read: int
    acl_fragments: int
    truncated: bool
    skipped: dict[str, int] = field(default_factory=dict)
    start_time_ns: int | None = None


class _ConnectionKey(NamedTuple):
    adapter: int
    handle: int
    generation: int  # +1 each time the controller reports the handle (re)connected or gone


class _AttValue(NamedTuple):
    host_time_ns: int
    connection: _ConnectionKey
    kind: str  # _NOTIFY or _WRITE
    attribute_handle: int
    value: bytes


# --- what sacrum packets look like (SPEC.md §2) ---------------------------------
def _is_version_1(value: bytes) -> bool:
    return len(value) >= 2 and value[1] >> 4 == proto.VERSION_MAJOR


def _looks_like_data(value: bytes) -> bool:
    """A DATA packet of the right length, a SEGMENT, or (1.2) a BIAS packet."""
    if not _is_version_1(value):
        return False
    if value[0] == proto.PTYPE_SEGMENT:
        return len(value) > proto.SEGMENT_HEADER_SIZE
    if value[0] == proto.PTYPE_BIAS:
        return len(value) == proto.BIAS_SIZE
    if value[0] != proto.PTYPE_DATA or len(value) < proto.DATA_HEADER_SIZE:
        return False
    n = value[proto.DATA_HEADER_SIZE - 1]
    return 1 <= n <= proto.MAX_SAMPLES and len(value) == (
        proto.DATA_HEADER_SIZE + proto.SAMPLE_SIZE * n
    )


def _looks_like_response(value: bytes) -> bool:
    return _is_version_1(value) and value[0] == proto.PTYPE_RESPONSE and len(value) >= 5


def _looks_like_command(value: bytes) -> bool:
    return _is_version_1(value) and value[0] == proto.PTYPE_COMMAND and len(value) >= 4


_ROLE_KIND = {"data": _NOTIFY, "response": _NOTIFY, "control": _WRITE}
_ROLE_LOOKS_LIKE = {
    "data": _looks_like_data,
    "response": _looks_like_response,
    "control": _looks_like_command,
}


# --- reading ------------------------------------------------------------------
class _HciReader:
    """Steps 2-5: HCI packets in, ATT values and discovered handles out."""

    def __init__(self, datalink: int) -> None:
        self.datalink = datalink
        self.packets_read = 0
        self.acl_fragments = 0
        self.skipped: Counter[str] = Counter()
        self.values: list[_AttValue] = []
        self.discovered: dict[str, int] = {}
        self.discovery_connections: set[_ConnectionKey] = set()
        self._generation: dict[tuple[int, int], int] = {}
        self._fragments: dict[tuple[int, int, int], bytearray] = {}
        self._read_by_type: dict[tuple[_ConnectionKey, int], bytes] = {}
        self._prepared: dict[_ConnectionKey, list[tuple[int, int, bytes]]] = {}

    # step 2
    def packet(self, flags: int, time_ns: int, data: bytes, cut_short: bool) -> None:
        self.packets_read += 1
        adapter = 0
        if self.datalink == DATALINK_H4:
            if not data:
                self.skipped["empty-packet"] += 1
                return
            h4_type, data = data[0], data[1:]
            direction = flags & 1
            kind = {H4_COMMAND: "command", H4_ACL: "acl", H4_EVENT: "event"}.get(h4_type)
            if h4_type not in H4_TYPES:
                self.skipped["unknown-packet-type"] += 1
        elif self.datalink == DATALINK_H1:
            direction = flags & 1
            if flags & 0b10:
                kind = "event" if direction == CONTROLLER_TO_HOST else "command"
            else:
                kind = "acl"
        else:
            adapter, opcode = flags >> 16, flags & 0xFFFF
            kind = {
                MONITOR_COMMAND: "command",
                MONITOR_EVENT: "event",
                MONITOR_ACL_TX: "acl",
                MONITOR_ACL_RX: "acl",
            }.get(opcode)
            direction = CONTROLLER_TO_HOST if opcode == MONITOR_ACL_RX else HOST_TO_CONTROLLER
        if kind == "event":
            self._event(adapter, data)
        elif kind == "acl":
            self.acl_fragments += 1
            self._acl(adapter, direction, time_ns, data, cut_short)

    # step 3
    def _connection(self, adapter: int, handle: int) -> _ConnectionKey:
        return _ConnectionKey(adapter, handle, self._generation.get((adapter, handle), 0))

    def _new_connection(self, adapter: int, handle: int) -> None:
        for direction in (HOST_TO_CONTROLLER, CONTROLLER_TO_HOST):
            if self._fragments.pop((adapter, handle, direction), None) is not None:
                self.skipped["incomplete-l2cap"] += 1
        key = self._connection(adapter, handle)
        if self._prepared.pop(key, None):
            self.skipped["incomplete-long-write"] += 1
        self._generation[(adapter, handle)] = key.generation + 1

    def _event(self, adapter: int, data: bytes) -> None:
        if len(data) < 2:
            self.skipped["malformed-event"] += 1
            return
        code, params = data[0], data[2:]
        if code == EVENT_DISCONNECTION_COMPLETE and len(params) >= 3:
            status, handle = params[0], struct.unpack_from("<H", params, 1)[0] & 0x0FFF
        elif (
            code == EVENT_LE_META
            and len(params) >= 4
            and params[0] in LE_CONNECTION_COMPLETE_SUBEVENTS
        ):
            status, handle = params[1], struct.unpack_from("<H", params, 2)[0] & 0x0FFF
        else:
            return
        if status == 0:
            self._new_connection(adapter, handle)

    # step 4
    def _acl(
        self, adapter: int, direction: int, time_ns: int, data: bytes, cut_short: bool
    ) -> None:
        if len(data) < 4:
            self.skipped["malformed-acl"] += 1
            return
        handle_flags, length = struct.unpack_from("<HH", data)
        handle, boundary = handle_flags & 0x0FFF, (handle_flags >> 12) & 0b11
        key = (adapter, handle, direction)
        if cut_short:
            # The capture kept only part of the packet (Android's "filtered" log).
            self.skipped["truncated-packet"] += 1
            if self._fragments.pop(key, None) is not None:
                self.skipped["incomplete-l2cap"] += 1
            return
        body = data[4:]
        if len(body) != length:
            self.skipped["malformed-acl"] += 1
            return
        if boundary == ACL_PB_CONTINUATION:
            buffer = self._fragments.get(key)
            if buffer is None:
                self.skipped["orphan-continuation"] += 1
                return
            buffer += body
        else:
            if self._fragments.get(key) is not None:
                self.skipped["incomplete-l2cap"] += 1
            buffer = self._fragments[key] = bytearray(body)
        if len(buffer) < L2CAP_HEADER_SIZE:
            return
        pdu_length, cid = struct.unpack_from("<HH", buffer)
        if len(buffer) < L2CAP_HEADER_SIZE + pdu_length:
            return
        del self._fragments[key]
        if len(buffer) > L2CAP_HEADER_SIZE + pdu_length:
            self.skipped["malformed-l2cap"] += 1
            return
        if cid != L2CAP_CID_ATT:
            self.skipped["other-cid"] += 1
            return
        pdu = bytes(buffer[L2CAP_HEADER_SIZE:])
        if not self._att(self._connection(adapter, handle), direction, time_ns, pdu):
            self.skipped["malformed-att"] += 1

    # step 5
    def _att(self, connection: _ConnectionKey, direction: int, time_ns: int, pdu: bytes) -> bool:
        """Decode one ATT PDU; False if it is malformed."""
        if not pdu:
            return False
        opcode, params = pdu[0], pdu[1:]
        if opcode in (ATT_HANDLE_VALUE_NOTIFICATION, ATT_HANDLE_VALUE_INDICATION):
            if len(params) < 2:
                return False
            self._value(time_ns, connection, _NOTIFY, params)
        elif opcode == ATT_MULTIPLE_HANDLE_VALUE_NOTIFICATION:
            offset = 0
            while offset < len(params):
                if offset + 4 > len(params):
                    return False
                attribute_handle, length = struct.unpack_from("<HH", params, offset)
                value = params[offset + 4 : offset + 4 + length]
                if len(value) != length:
                    return False
                self._value(time_ns, connection, _NOTIFY, params[offset : offset + 2] + value)
                offset += 4 + length
        elif opcode in (ATT_WRITE_COMMAND, ATT_WRITE_REQUEST):
            if len(params) < 2:
                return False
            self._value(time_ns, connection, _WRITE, params)
        elif opcode == ATT_SIGNED_WRITE_COMMAND:
            if len(params) < 2 + ATT_SIGNATURE_SIZE:
                return False
            self._value(time_ns, connection, _WRITE, params[:-ATT_SIGNATURE_SIZE])
        elif opcode == ATT_PREPARE_WRITE_REQUEST:
            if len(params) < 4:
                return False
            attribute_handle, offset = struct.unpack_from("<HH", params)
            parts = self._prepared.setdefault(connection, [])
            parts.append((attribute_handle, offset, params[4:]))
        elif opcode == ATT_EXECUTE_WRITE_REQUEST:
            if len(params) != 1:
                return False
            parts = self._prepared.pop(connection, [])
            if params[0] == 0x01:
                self._execute_write(time_ns, connection, parts)
        elif opcode == ATT_READ_BY_TYPE_REQUEST:
            if len(params) not in (6, 20):
                return False
            self._read_by_type[(connection, direction)] = params[4:]
        elif opcode == ATT_READ_BY_TYPE_RESPONSE:
            return self._characteristic_declarations(connection, direction, params)
        elif opcode == ATT_READ_BY_GROUP_TYPE_RESPONSE:
            return self._services(params)
        elif opcode == ATT_FIND_INFORMATION_RESPONSE:
            return self._information(connection, params)
        return True

    def _value(self, time_ns: int, connection: _ConnectionKey, kind: str, params: bytes) -> None:
        attribute_handle = params[0] | params[1] << 8
        self.values.append(_AttValue(time_ns, connection, kind, attribute_handle, params[2:]))

    def _execute_write(
        self, time_ns: int, connection: _ConnectionKey, parts: list[tuple[int, int, bytes]]
    ) -> None:
        by_handle: dict[int, bytearray] = {}
        for attribute_handle, offset, part in parts:
            value = by_handle.setdefault(attribute_handle, bytearray())
            if offset != len(value):
                self.skipped["malformed-long-write"] += 1
                by_handle[attribute_handle] = bytearray()
                continue
            value += part
        for attribute_handle, value in by_handle.items():
            handle_bytes = struct.pack("<H", attribute_handle)
            self._value(time_ns, connection, _WRITE, handle_bytes + bytes(value))

    def _discover(self, role: str, attribute_handle: int, connection: _ConnectionKey) -> None:
        self.discovery_connections.add(connection)
        known = self.discovered.setdefault(role, attribute_handle)
        if known != attribute_handle:
            logger.warning(
                "GATT discovery found the sacrum %s characteristic at handle 0x%04x and "
                "at 0x%04x (two devices or firmware versions?); using 0x%04x",
                role,
                known,
                attribute_handle,
                known,
            )

    def _characteristic_declarations(
        self, connection: _ConnectionKey, direction: int, params: bytes
    ) -> bool:
        request_direction = CONTROLLER_TO_HOST - direction
        attribute_type = self._read_by_type.pop((connection, request_direction), None)
        if len(params) < 1 or params[0] < 2 or (len(params) - 1) % params[0]:
            return False
        if attribute_type not in (None, struct.pack("<H", GATT_CHARACTERISTIC_UUID16)):
            return True
        length = params[0]
        if length != 2 + 1 + 2 + 16:  # handle, properties, value handle, 128-bit UUID
            return True
        for offset in range(1, len(params), length):
            value_handle = struct.unpack_from("<H", params, offset + 3)[0]
            role = CHARACTERISTIC_ROLES.get(params[offset + 5 : offset + length])
            if role is not None:
                self._discover(role, value_handle, connection)
        return True

    def _services(self, params: bytes) -> bool:
        if len(params) < 1 or params[0] < 4 or (len(params) - 1) % params[0]:
            return False
        length = params[0]
        for offset in range(1, len(params), length):
            if params[offset + 4 : offset + length] == SERVICE_UUID_WIRE:
                start, end = struct.unpack_from("<HH", params, offset)
                logger.info("sacrum service found at handles 0x%04x-0x%04x", start, end)
        return True

    def _information(self, connection: _ConnectionKey, params: bytes) -> bool:
        if len(params) < 1 or params[0] not in (1, 2):
            return False
        entry_size = 2 + (2 if params[0] == 1 else 16)
        if (len(params) - 1) % entry_size:
            return False
        for offset in range(1, len(params), entry_size):
            role = CHARACTERISTIC_ROLES.get(params[offset + 2 : offset + entry_size])
            if role is not None:
                self._discover(role, struct.unpack_from("<H", params, offset)[0], connection)
        return True

    def finish(self) -> None:
        self.skipped["incomplete-l2cap"] += len(self._fragments)
        self.skipped["incomplete-long-write"] += sum(map(bool, self._prepared.values()))
        self._fragments.clear()
        self._prepared.clear()


def _check_header(header: bytes, name: str) -> int:
    """Step 1: the datalink of a valid file header, else BtsnoopError."""
    if len(header) < _FILE_HEADER.size:
        raise BtsnoopError(
            f"{name}: truncated header: the file is {len(header)} bytes long, but a btsnoop "
            f"file starts with a {_FILE_HEADER.size}-byte header"
        )
    magic, version, datalink = _FILE_HEADER.unpack(header)
    if magic != BTSNOOP_MAGIC:
        hint = ""
        if magic[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x0a\x0d\x0d\x0a"):
            hint = " It looks like a pcap/pcapng file; save it from Wireshark as btsnoop."
        elif magic[:4] == b"PK\x03\x04":
            hint = (
                " It looks like a zip archive (an Android bug report?); extract "
                "btsnoop_hci.log from it (FS/data/misc/bluetooth/logs/)."
            )
        elif magic == proto.CAPTURE_MAGIC:
            hint = " It is a sacrum capture already; open it as one."
        raise BtsnoopError(
            f"{name}: not a btsnoop file: it starts with {magic!r}, not {BTSNOOP_MAGIC!r}.{hint}"
        )
    if version != BTSNOOP_VERSION:
        logger.warning(
            "%s: btsnoop version %d, expected %d; reading anyway", name, version, BTSNOOP_VERSION
        )
    if datalink not in SUPPORTED_DATALINKS:
        kind = DATALINK_NAMES.get(datalink, "unknown")
        supported = ", ".join(f"{d} ({DATALINK_NAMES[d]})" for d in SUPPORTED_DATALINKS)
        raise BtsnoopError(
            f"{name}: unsupported btsnoop datalink {datalink} ({kind}); supported are {supported}"
        )
    return datalink


def _read_records(stream: BinaryIO, reader: _HciReader, name: str) -> bool:
    """Step 1: feed every record to the reader; True if the file ends inside one."""
    offset = _FILE_HEADER.size
    while True:
        header = stream.read(_RECORD_HEADER.size)
        if not header:
            return False
        if len(header) == _RECORD_HEADER.size:
            original_length, included_length, flags, _drops, timestamp_us = _RECORD_HEADER.unpack(
                header
            )
            data = stream.read(included_length)
            if len(data) == included_length:
                time_ns = (timestamp_us - BTSNOOP_EPOCH_DELTA_US) * 1000
                reader.packet(flags, time_ns, data, included_length < original_length)
                offset += len(header) + included_length
                continue
        logger.warning(
            "%s: the file ends inside a record at byte %d; the %d records before it were read",
            name,
            offset,
            reader.packets_read,
        )
        return True


def _assign_heuristically(role: str, values: list[_AttValue], taken: set[int]) -> int | None:
    """Step 6, heuristic: the handle whose values most often look like the role's packets.

    Values are grouped by (connection, handle); a group counts only if at least
    half of its values look right, so a busy unrelated link that happens to use
    the same handle number does not hide the sacrum one.
    """
    looks_like = _ROLE_LOOKS_LIKE[role]
    total: Counter[tuple[_ConnectionKey, int]] = Counter()
    good: Counter[tuple[_ConnectionKey, int]] = Counter()
    for value in values:
        if value.kind == _ROLE_KIND[role] and value.attribute_handle not in taken:
            group = (value.connection, value.attribute_handle)
            total[group] += 1
            good[group] += looks_like(value.value)
    score: Counter[int] = Counter()
    for group, count in good.items():
        if count and 2 * count >= total[group]:
            score[group[1]] += count
    if not score:
        return None
    attribute_handle, count = score.most_common(1)[0]
    logger.info(
        "heuristic: %d values on handle 0x%04x look like sacrum %s packets",
        count,
        attribute_handle,
        role,
    )
    return attribute_handle


def read_btsnoop(
    path: str | os.PathLike[str] | BinaryIO,
    *,
    data_handle: int | None = None,
    response_handle: int | None = None,
    control_handle: int | None = None,
) -> BtsnoopImport:
    """Read the sacrum ATT traffic from a btsnoop file (see the module docstring).

    Args:
        path: the btsnoop file, or a binary stream positioned at its start.
        data_handle: attribute (value) handle of the data characteristic, if
            known; overrides discovery and the heuristic.
        response_handle: same, for the response characteristic.
        control_handle: same, for the control characteristic.

    When any handle is given, values on the given handles are taken from every
    connection; otherwise only from connections that did the sacrum GATT
    discovery or carried a value that looks like a sacrum packet.

    Raises:
        BtsnoopError: the file is not a btsnoop file of a supported datalink,
            or no sacrum characteristic could be identified in it.
    """
    if hasattr(path, "read"):
        stream: BinaryIO = path  # type: ignore[assignment]
        name = getattr(path, "name", "<stream>")
        return _read_stream(stream, str(name), data_handle, response_handle, control_handle)
    with open(path, "rb") as stream:
        return _read_stream(stream, os.fspath(path), data_handle, response_handle, control_handle)


def _read_stream(
    stream: BinaryIO,
    name: str,
    data_handle: int | None,
    response_handle: int | None,
    control_handle: int | None,
) -> BtsnoopImport:
    given = {
        role: handle
        for role, handle in (
            ("data", data_handle),
            ("response", response_handle),
            ("control", control_handle),
        )
        if handle is not None
    }
    for role, handle in given.items():
        if not isinstance(handle, int) or not 0x0001 <= handle <= 0xFFFF:
            raise BtsnoopError(
                f"{role}_handle must be an attribute handle 0x0001-0xffff, not {handle!r}"
            )
    datalink = _check_header(stream.read(_FILE_HEADER.size), name)
    reader = _HciReader(datalink)
    truncated = _read_records(stream, reader, name)
    reader.finish()

    # step 6
    handles = dict(given)
    sources = {role: "given" for role in given}
    for role, handle in reader.discovered.items():
        if role not in handles:
            handles[role], sources[role] = handle, "gatt-discovery"
    for role in ROLE_CHANNELS:
        if role not in handles:
            handle = _assign_heuristically(role, reader.values, set(handles.values()))
            if handle is not None:
                handles[role], sources[role] = handle, "heuristic"
    if not handles:
        raise BtsnoopError(_nothing_found_message(name, reader, truncated))
    source = next(s for s in ("given", "gatt-discovery", "heuristic") if s in sources.values())
    for role, handle in handles.items():
        logger.info("%s characteristic: handle 0x%04x (%s)", role, handle, sources[role])

    # step 7
    role_of = {(_ROLE_KIND[role], handle): role for role, handle in handles.items()}
    if given:
        accepted = None
    else:
        accepted = set(reader.discovery_connections)
        for value in reader.values:
            role = role_of.get((value.kind, value.attribute_handle))
            if role is not None and _ROLE_LOOKS_LIKE[role](value.value):
                accepted.add(value.connection)
    records = []
    for value in reader.values:
        role = role_of.get((value.kind, value.attribute_handle))
        if role is None:
            reader.skipped["other-attribute"] += 1
        elif accepted is not None and value.connection not in accepted:
            reader.skipped["other-connection"] += 1
        else:
            records.append(
                AttRecord(
                    value.host_time_ns, ROLE_CHANNELS[role], value.value, value.connection.handle
                )
            )
    skipped = {reason: count for reason, count in sorted(reader.skipped.items()) if count}
    if skipped.get("other-connection"):
        logger.warning(
            "%d values on the sacrum handles came from connections with no sacrum "
            "traffic and were left out",
            skipped["other-connection"],
        )
    if skipped.get("truncated-packet"):
        logger.warning(
            "%d ACL packets were cut short in the capture (Android's 'filtered' "
            "HCI snoop log?); set the snoop log to 'full'",
            skipped["truncated-packet"],
        )
    logger.info(
        "%s: %d sacrum records from %d packets; skipped %s",
        name,
        len(records),
        reader.packets_read,
        skipped,
    )
    return BtsnoopImport(
        records=records,
        datalink=datalink,
        handles=handles,
        handle_source=source,
        packets_read=reader.packets_read,
        acl_fragments=reader.acl_fragments,
        truncated=truncated,
        skipped=skipped,
        start_time_ns=records[0].host_time_ns if records else None,
    )


def _nothing_found_message(name: str, reader: _HciReader, truncated: bool) -> str:
    notified = sum(1 for value in reader.values if value.kind == _NOTIFY)
    written = len(reader.values) - notified
    message = (
        f"{name}: no sacrum traffic found: no GATT discovery of the sacrum service, and none "
        f"of the {notified} notified and {written} written ATT values in "
        f"{reader.packets_read} packets looks like a sacrum packet. If you know the "
        "attribute handles (nRF Connect shows them), pass data_handle=, response_handle= "
        "and control_handle="
    )
    if reader.skipped["truncated-packet"]:
        message += (
            f"; {reader.skipped['truncated-packet']} ACL packets were cut short in the "
            "capture: set Android's HCI snoop log to 'full', not 'filtered'"
        )
    if truncated:
        message += "; the file ends inside a record"
    return message

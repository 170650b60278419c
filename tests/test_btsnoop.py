"""sacrum.io.btsnoop: importing the sacrum ATT traffic from btsnoop HCI captures.

Fixtures come from a real Bluetooth stack where possible: Bumble (Google's
Python Bluetooth stack) runs a sacrum GATT server and a GATT client over its
in-process virtual link and writes the central's HCI traffic with its own
btsnoop writer (``bumble.snoop.BtSnooper``, datalink 1002/H4). Smaller
fixtures are built from Bumble's HCI, L2CAP and ATT packet classes; only the
Linux-monitor file (datalink 2001, which Bumble does not write) is packed by
hand.
"""

from __future__ import annotations

import asyncio
import io
import struct
import time
from dataclasses import dataclass

import pytest
from bumble import att, gatt, gatt_client, hci, l2cap
from bumble.core import UUID
from bumble.device import Peer
from bumble.snoop import BtSnooper, Snooper
from bumble.testing.test_utils import TwoDevices
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sacrum.io.btsnoop import BtsnoopError, BtsnoopImport, read_btsnoop

SUFFIX = "-5e1d-4b6e-a1c3-7f0e2d9c4b10"
SERVICE_UUID = "5ac10001" + SUFFIX
DATA_UUID = "5ac10002" + SUFFIX
CONTROL_UUID = "5ac10003" + SUFFIX
RESPONSE_UUID = "5ac10004" + SUFFIX
BLE_DATA, BLE_RESPONSE, BLE_CONTROL = 1, 2, 3
RX = Snooper.Direction.CONTROLLER_TO_HOST
TX = Snooper.Direction.HOST_TO_CONTROLLER
BTSNOOP_EPOCH_DELTA_US = 0x00DCDDB30F2F8000


# --- sacrum packets (SPEC.md §2) ------------------------------------------------
def data_packet(seq: int, n: int) -> bytes:
    """A DATA packet of n samples: a still sensor, z up, 200 Hz."""
    header = struct.pack(
        "<BBHHIHHBB", 0x01, 0x10, seq, seq * n, 1_000_000 + seq * n * 5000, 5000, 0, 0x02, n
    )
    sample = struct.pack("<10h", 16384, 0, 0, 0, 3, -5, 2511, 1, -2, 0)
    return header + sample * n


def command(token: int, opcode: int, args: bytes = b"") -> bytes:
    return bytes([0x02, 0x10, token, opcode]) + args


def response(token: int, opcode: int, result: int = 0, payload: bytes = b"") -> bytes:
    return bytes([0x03, 0x10, token, opcode, result]) + payload


HELLO = command(1, 0x01, bytes([0x10, 0x1F]))
HELLO_OK = response(1, 0x01, 0, bytes([0x10, 0x10, 0x1F]))
SET_NAME = command(2, 0x09, b"sacrum-left-pelvis-1")  # 24 bytes: over 27-byte ACL buffers
SET_NAME_OK = response(2, 0x09)
START = command(3, 0x02)
START_OK = response(3, 0x02)


# --- a real GATT session over Bumble's virtual link ----------------------------------
@dataclass
class Session:
    btsnoop: bytes
    handles: dict[str, int]
    connection_handle: int
    expected: list[tuple[int, bytes]]
    t_start_ns: int
    t_end_ns: int


async def _run_session(snoop_discovery: bool) -> Session:
    devices = TwoDevices()
    central, peripheral = devices[0], devices[1]
    written: list[bytes] = []
    write_seen = asyncio.Event()

    def on_write(_connection: object, value: bytes) -> None:
        written.append(bytes(value))
        write_seen.set()

    props = gatt.Characteristic.Properties
    data = gatt.Characteristic(UUID(DATA_UUID), props.NOTIFY, gatt.Characteristic.READABLE, b"")
    control = gatt.Characteristic(
        UUID(CONTROL_UUID),
        props.WRITE | props.WRITE_WITHOUT_RESPONSE,
        gatt.Characteristic.WRITEABLE,
        gatt.CharacteristicValue(write=on_write),
    )
    resp = gatt.Characteristic(UUID(RESPONSE_UUID), props.NOTIFY, gatt.Characteristic.READABLE, b"")
    battery = gatt.Characteristic(
        UUID.from_16_bits(0x2A19),
        props.READ | props.NOTIFY,
        gatt.Characteristic.READABLE,
        bytes([87]),
    )
    peripheral.add_service(gatt.Service(UUID(SERVICE_UUID), [data, control, resp]))
    peripheral.add_service(gatt.Service(UUID.from_16_bits(0x180F), [battery]))

    snoop_file = io.BytesIO()
    t_start_ns = time.time_ns()
    if snoop_discovery:
        central.host.snooper = BtSnooper(snoop_file)
    await devices.setup_connection()
    peer = Peer(devices.connections[0])
    await peer.request_mtu(247)
    await peer.discover_services()
    for service in peer.services:
        await service.discover_characteristics()
        for characteristic in service.characteristics:
            await characteristic.discover_descriptors()
    if not snoop_discovery:  # a phone with the GATT database cached
        central.host.snooper = BtSnooper(snoop_file)

    def proxy(uuid: str | UUID) -> gatt_client.CharacteristicProxy:
        (found,) = peer.get_characteristics_by_uuid(UUID(uuid) if isinstance(uuid, str) else uuid)
        return found

    received: list[bytes] = []
    arrived = asyncio.Event()

    def on_notification(value: bytes) -> None:
        received.append(bytes(value))
        arrived.set()

    for uuid in (RESPONSE_UUID, DATA_UUID, UUID.from_16_bits(0x2A19)):
        await proxy(uuid).subscribe(on_notification)

    server_connection = devices.connections[1]
    expected: list[tuple[int, bytes]] = []

    async def write(value: bytes, with_response: bool) -> None:
        write_seen.clear()
        await proxy(CONTROL_UUID).write_value(value, with_response=with_response)
        await asyncio.wait_for(write_seen.wait(), 2)
        expected.append((BLE_CONTROL, value))

    async def notify(characteristic: gatt.Characteristic, value: bytes, channel: int) -> None:
        arrived.clear()
        await peripheral.notify_subscriber(server_connection, characteristic, value)
        await asyncio.wait_for(arrived.wait(), 2)
        if channel:
            expected.append((channel, value))

    await write(HELLO, with_response=False)
    await notify(resp, HELLO_OK, BLE_RESPONSE)
    await write(SET_NAME, with_response=True)
    await notify(resp, SET_NAME_OK, BLE_RESPONSE)
    await write(START, with_response=False)
    await notify(resp, START_OK, BLE_RESPONSE)
    for seq in range(6):
        await notify(data, data_packet(seq, 11), BLE_DATA)
        if seq == 2:
            await notify(battery, bytes([86]), 0)  # not sacrum: left out
    await notify(data, data_packet(6, 3), BLE_DATA)
    assert written == [HELLO, SET_NAME, START]
    assert len(received) == 3 + 7 + 1  # responses, data, battery
    return Session(
        btsnoop=snoop_file.getvalue(),
        handles={
            "data": proxy(DATA_UUID).handle,
            "response": proxy(RESPONSE_UUID).handle,
            "control": proxy(CONTROL_UUID).handle,
        },
        connection_handle=devices.connections[0].handle,
        expected=expected,
        t_start_ns=t_start_ns,
        t_end_ns=time.time_ns(),
    )


@pytest.fixture(scope="module")
def session() -> Session:
    return asyncio.run(_run_session(snoop_discovery=True))


@pytest.fixture(scope="module")
def cached_session() -> Session:
    return asyncio.run(_run_session(snoop_discovery=False))


def read_bytes(data: bytes, **handles: int) -> BtsnoopImport:
    return read_btsnoop(io.BytesIO(data), **handles)


def channels_and_values(result: BtsnoopImport) -> list[tuple[int, bytes]]:
    return [(record.channel, record.value) for record in result.records]


def records_of(data: bytes) -> list[tuple[int, int, bytes]]:
    """(flags, timestamp, packet) of every record of a btsnoop file."""
    out, offset = [], 16
    while offset < len(data):
        _, length, flags, _, timestamp = struct.unpack_from(">IIIIq", data, offset)
        out.append((flags, timestamp, data[offset + 24 : offset + 24 + length]))
        offset += 24 + length
    return out


def btsnoop_file(datalink: int, records: list[tuple[int, int, bytes]]) -> bytes:
    out = [b"btsnoop\0" + struct.pack(">II", 1, datalink)]
    for flags, timestamp, packet in records:
        out.append(struct.pack(">IIIIq", len(packet), len(packet), flags, 0, timestamp) + packet)
    return b"".join(out)


# --- the real session ---------------------------------------------------------------
def test_session_with_discovery_yields_exactly_the_sacrum_values(session: Session) -> None:
    result = read_bytes(session.btsnoop)

    assert result.handle_source == "gatt-discovery"
    assert result.handles == session.handles
    assert channels_and_values(result) == session.expected
    assert {r.connection_handle for r in result.records} == {session.connection_handle}
    assert result.datalink == 1002
    assert not result.truncated
    assert result.acl_fragments > len(session.expected)
    # the CCCD writes and the battery notification are not sacrum values
    assert result.skipped["other-attribute"] >= 4
    assert "other-connection" not in result.skipped


def test_host_times_are_unix_ns_in_file_order(session: Session) -> None:
    result = read_bytes(session.btsnoop)
    times = [record.host_time_ns for record in result.records]

    assert times == sorted(times)
    assert session.t_start_ns - 1_000_000 <= times[0] <= times[-1] <= session.t_end_ns + 1_000_000
    assert result.start_time_ns == times[0]


def test_command_fragmented_by_the_host_is_reassembled(session: Session) -> None:
    # Bumble's host splits ACL data into the controller's 27-byte LE buffers, so
    # the 24-byte SET_NAME write (31 bytes of L2CAP) goes out in two fragments.
    continuations = [
        packet
        for _, _, packet in records_of(session.btsnoop)
        if packet[0] == 0x02 and (packet[2] >> 4) & 0b11 == 0b01
    ]
    assert continuations
    assert (BLE_CONTROL, SET_NAME) in channels_and_values(read_bytes(session.btsnoop))


def test_cached_gatt_falls_back_to_the_heuristic(cached_session: Session) -> None:
    result = read_bytes(cached_session.btsnoop)

    assert result.handle_source == "heuristic"
    assert result.handles == cached_session.handles
    assert channels_and_values(result) == cached_session.expected


def test_given_handles_win(cached_session: Session) -> None:
    handles = cached_session.handles
    swapped = read_bytes(
        cached_session.btsnoop,
        data_handle=handles["response"],
        response_handle=handles["data"],
        control_handle=handles["control"],
    )

    assert swapped.handle_source == "given"
    assert swapped.handles["data"] == handles["response"]
    assert [r.channel for r in swapped.records if r.value[0] == 0x01] == [BLE_RESPONSE] * 7


def test_reads_from_a_path(session: Session, tmp_path) -> None:
    path = tmp_path / "btsnoop_hci.log"
    path.write_bytes(session.btsnoop)

    assert channels_and_values(read_btsnoop(path)) == session.expected
    assert channels_and_values(read_btsnoop(str(path))) == session.expected


def _as_h1(records: list[tuple[int, int, bytes]]) -> bytes:
    """Datalink 1001: no H4 byte; flags bit 1 marks commands and events."""
    out = []
    for flags, timestamp, packet in records:
        command_or_event = 0b10 if packet[0] in (0x01, 0x04) else 0
        out.append((flags & 1 | command_or_event, timestamp, packet[1:]))
    return btsnoop_file(1001, out)


def _as_monitor(records: list[tuple[int, int, bytes]], adapter: int) -> bytes:
    """Datalink 2001: no H4 byte; flags = adapter index << 16 | opcode."""
    opcodes = {(0x01, 0): 2, (0x04, 1): 3, (0x02, 0): 4, (0x02, 1): 5}
    out = [
        (adapter << 16 | opcodes[(packet[0], flags & 1)], timestamp, packet[1:])
        for flags, timestamp, packet in records
    ]
    return btsnoop_file(2001, out)


@pytest.mark.parametrize("datalink", [1001, 2001])
def test_same_session_in_other_datalinks(session: Session, datalink: int) -> None:
    records = records_of(session.btsnoop)
    converted = _as_h1(records) if datalink == 1001 else _as_monitor(records, adapter=1)
    h4, other = read_bytes(session.btsnoop), read_bytes(converted)

    assert other.datalink == datalink
    assert other.records == h4.records
    assert other.handles == h4.handles
    assert other.handle_source == "gatt-discovery"


# --- captures built from Bumble's packet classes --------------------------------------
class Capture:
    """A btsnoop (H4) file written by Bumble's BtSnooper from Bumble packet objects."""

    def __init__(self) -> None:
        self.file = io.BytesIO()
        self.snooper = BtSnooper(self.file)

    def acl(
        self,
        connection: int,
        direction: Snooper.Direction,
        pdu: bytes,
        cid: int = 0x0004,
        sizes: tuple[int, ...] = (),
    ) -> None:
        """Send one L2CAP PDU, split into fragments of the given sizes (rest in the last)."""
        frame = bytes(l2cap.L2CAP_PDU(cid, pdu))
        offset = 0
        for index, size in enumerate((*sizes, len(frame))):
            chunk = frame[offset : offset + size]
            offset += len(chunk)
            first = 0b10 if direction == RX else 0b00
            self.raw(
                hci.HCI_AclDataPacket(
                    connection_handle=connection,
                    pb_flag=first if index == 0 else 0b01,
                    bc_flag=0,
                    data_total_length=len(chunk),
                    data=chunk,
                ),
                direction,
            )
            if offset == len(frame):
                break

    def raw(self, packet: object, direction: Snooper.Direction) -> None:
        self.snooper.snoop(bytes(packet), direction)

    def notify(self, connection: int, handle: int, value: bytes, **kwargs) -> None:
        pdu = att.ATT_Handle_Value_Notification(attribute_handle=handle, attribute_value=value)
        self.acl(connection, RX, bytes(pdu), **kwargs)

    def write_command(self, connection: int, handle: int, value: bytes) -> None:
        pdu = att.ATT_Write_Command(attribute_handle=handle, attribute_value=value)
        self.acl(connection, TX, bytes(pdu))

    def connected(self, connection: int) -> None:
        self.raw(
            hci.HCI_LE_Connection_Complete_Event(
                status=0,
                connection_handle=connection,
                role=0,
                peer_address_type=1,
                peer_address=hci.Address("C0:11:22:33:44:55"),
                connection_interval=24,
                peripheral_latency=0,
                supervision_timeout=42,
                central_clock_accuracy=0,
            ),
            RX,
        )

    def disconnected(self, connection: int) -> None:
        self.raw(
            hci.HCI_Disconnection_Complete_Event(
                status=0, connection_handle=connection, reason=0x13
            ),
            RX,
        )

    def bytes(self) -> bytes:
        return self.file.getvalue()


DATA_HANDLE, CONTROL_HANDLE, RESPONSE_HANDLE = 0x0012, 0x0015, 0x0018


def characteristic_declarations() -> att.ATT_Read_By_Type_Response:
    entries = b"".join(
        struct.pack("<HBH", value_handle - 1, properties, value_handle) + UUID(uuid).to_bytes()
        for value_handle, properties, uuid in (
            (DATA_HANDLE, 0x10, DATA_UUID),
            (CONTROL_HANDLE, 0x0C, CONTROL_UUID),
            (RESPONSE_HANDLE, 0x10, RESPONSE_UUID),
        )
    )
    return att.ATT_Read_By_Type_Response(length=21, attribute_data_list=entries)


def test_notification_split_over_acl_fragments() -> None:
    capture = Capture()
    big = [data_packet(seq, 11) for seq in range(3)]  # 243 bytes of L2CAP each
    capture.notify(0x0040, DATA_HANDLE, big[0], sizes=(27,) * 8)
    capture.notify(0x0040, DATA_HANDLE, big[1], sizes=(2, 100))  # L2CAP header split too
    # fragments of two links interleaved: reassembly is per connection handle
    frame_a = bytes(
        l2cap.L2CAP_PDU(
            4,
            bytes(
                att.ATT_Handle_Value_Notification(
                    attribute_handle=DATA_HANDLE, attribute_value=big[2]
                )
            ),
        )
    )
    frame_b = bytes(
        l2cap.L2CAP_PDU(
            4,
            bytes(
                att.ATT_Handle_Value_Notification(
                    attribute_handle=DATA_HANDLE, attribute_value=data_packet(9, 4)
                )
            ),
        )
    )
    for connection, chunk, pb in (
        (0x40, frame_a[:100], 2),
        (0x41, frame_b[:50], 2),
        (0x40, frame_a[100:], 1),
        (0x41, frame_b[50:], 1),
    ):
        capture.raw(
            hci.HCI_AclDataPacket(
                connection_handle=connection,
                pb_flag=pb,
                bc_flag=0,
                data_total_length=len(chunk),
                data=chunk,
            ),
            RX,
        )

    result = read_bytes(capture.bytes())

    assert [r.value for r in result.records] == [*big, data_packet(9, 4)]
    assert [r.connection_handle for r in result.records] == [0x40, 0x40, 0x40, 0x41]
    assert result.acl_fragments == 9 + 3 + 4
    assert result.skipped == {}
    assert result.handle_source == "heuristic"
    assert result.handles == {"data": DATA_HANDLE}


def test_discovery_by_read_by_type_and_find_information() -> None:
    capture = Capture()
    capture.acl(
        0x40,
        TX,
        bytes(
            att.ATT_Read_By_Group_Type_Request(
                starting_handle=1,
                ending_handle=0xFFFF,
                attribute_group_type=UUID.from_16_bits(0x2800),
            )
        ),
    )
    capture.acl(
        0x40,
        RX,
        bytes(
            att.ATT_Read_By_Group_Type_Response(
                length=20,
                attribute_data_list=struct.pack("<HH", 0x10, 0x1A) + UUID(SERVICE_UUID).to_bytes(),
            )
        ),
    )
    capture.acl(
        0x40,
        TX,
        bytes(
            att.ATT_Read_By_Type_Request(
                starting_handle=0x10, ending_handle=0x1A, attribute_type=UUID.from_16_bits(0x2803)
            )
        ),
    )
    capture.acl(0x40, RX, bytes(characteristic_declarations()), sizes=(27, 27))
    # values that do not look like sacrum packets: only discovery can place them
    capture.notify(0x40, DATA_HANDLE, b"\x00\x01")
    capture.notify(0x40, RESPONSE_HANDLE, b"\x00\x02")
    capture.write_command(0x40, CONTROL_HANDLE, b"\x00\x03")

    result = read_bytes(capture.bytes())

    assert result.handle_source == "gatt-discovery"
    assert result.handles == {
        "data": DATA_HANDLE,
        "response": RESPONSE_HANDLE,
        "control": CONTROL_HANDLE,
    }
    assert channels_and_values(result) == [
        (BLE_DATA, b"\x00\x01"),
        (BLE_RESPONSE, b"\x00\x02"),
        (BLE_CONTROL, b"\x00\x03"),
    ]

    by_information = Capture()
    information = b"".join(
        struct.pack("<H", handle) + UUID(uuid).to_bytes()
        for handle, uuid in ((DATA_HANDLE, DATA_UUID), (RESPONSE_HANDLE, RESPONSE_UUID))
    )
    by_information.acl(
        0x40, RX, bytes(att.ATT_Find_Information_Response(format=2, information_data=information))
    )
    assert read_bytes(by_information.bytes()).handles == {
        "data": DATA_HANDLE,
        "response": RESPONSE_HANDLE,
    }


def test_read_by_type_of_another_attribute_type_is_not_discovery() -> None:
    capture = Capture()
    capture.acl(
        0x40,
        TX,
        bytes(
            att.ATT_Read_By_Type_Request(
                starting_handle=1, ending_handle=0xFFFF, attribute_type=UUID.from_16_bits(0x2A00)
            )
        ),
    )
    capture.acl(0x40, RX, bytes(characteristic_declarations()))

    with pytest.raises(BtsnoopError, match="no sacrum traffic"):
        read_bytes(capture.bytes())


def test_long_write_is_one_control_value() -> None:
    capture = Capture()
    capture.acl(0x40, RX, bytes(characteristic_declarations()))
    for offset in (0, 18):
        capture.acl(
            0x40,
            TX,
            bytes(
                att.ATT_Prepare_Write_Request(
                    attribute_handle=CONTROL_HANDLE,
                    value_offset=offset,
                    part_attribute_value=SET_NAME[offset : offset + 18],
                )
            ),
        )
    capture.acl(0x40, TX, bytes(att.ATT_Execute_Write_Request(flags=1)))
    capture.acl(
        0x40,
        TX,
        bytes(
            att.ATT_Prepare_Write_Request(
                attribute_handle=CONTROL_HANDLE, value_offset=0, part_attribute_value=START
            )
        ),
    )
    capture.acl(0x40, TX, bytes(att.ATT_Execute_Write_Request(flags=0)))  # cancelled

    assert channels_and_values(read_bytes(capture.bytes())) == [(BLE_CONTROL, SET_NAME)]


def test_other_links_on_the_same_handle_are_left_out() -> None:
    capture = Capture()
    capture.connected(0x40)
    capture.acl(0x40, RX, bytes(characteristic_declarations()))
    capture.notify(0x40, DATA_HANDLE, data_packet(0, 11))
    capture.connected(0x41)  # a watch whose heart-rate value happens to sit at 0x0012
    capture.notify(0x41, DATA_HANDLE, b"\x16\x48")
    capture.disconnected(0x40)
    capture.connected(0x40)  # the controller reuses 0x40 for a third device
    capture.notify(0x40, DATA_HANDLE, b"\x00\x00\x01")
    capture.connected(0x42)  # sacrum reconnects with its GATT database cached
    capture.notify(0x42, DATA_HANDLE, data_packet(1, 11))

    result = read_bytes(capture.bytes())

    assert [(r.connection_handle, r.value) for r in result.records] == [
        (0x40, data_packet(0, 11)),
        (0x42, data_packet(1, 11)),
    ]
    assert result.skipped["other-connection"] == 2
    everything = read_bytes(capture.bytes(), data_handle=DATA_HANDLE)
    assert everything.handle_source == "given"
    assert len(everything.records) == 4


def test_malformed_acl_and_l2cap_are_counted_and_skipped() -> None:
    capture = Capture()
    good = [data_packet(seq, 2) for seq in range(3)]
    capture.notify(0x40, DATA_HANDLE, good[0])
    # continuation with nothing to continue
    capture.raw(
        hci.HCI_AclDataPacket(
            connection_handle=0x40, pb_flag=1, bc_flag=0, data_total_length=3, data=b"xyz"
        ),
        RX,
    )
    # a start whose continuation never comes, then a new start
    lost = bytes(
        l2cap.L2CAP_PDU(
            4,
            bytes(
                att.ATT_Handle_Value_Notification(
                    attribute_handle=DATA_HANDLE, attribute_value=data_packet(7, 7)
                )
            ),
        )
    )[:20]
    capture.raw(
        hci.HCI_AclDataPacket(
            connection_handle=0x40, pb_flag=2, bc_flag=0, data_total_length=20, data=lost
        ),
        RX,
    )
    capture.notify(0x40, DATA_HANDLE, good[1])
    # ACL length field that disagrees with the packet
    capture.snooper.snoop(b"\x02\x40\x20\x09\x00" + b"\x05\x00\x04\x00\x1b\x12\x00", RX)
    # L2CAP length shorter than the ACL payload
    capture.snooper.snoop(b"\x02\x40\x20\x08\x00" + b"\x01\x00\x04\x00\x1b\x12\x00\x01", RX)
    capture.acl(0x40, RX, b"\x1b\x12")  # ATT notification without its handle
    capture.acl(0x40, RX, b"\x01\x02\x03", cid=0x0006)  # SMP
    capture.file.write(struct.pack(">IIIIq", 0, 0, 1, 0, BTSNOOP_EPOCH_DELTA_US))  # empty
    capture.snooper.snoop(b"\x02\x40", RX)
    capture.snooper.snoop(b"\x09\x40\x20", RX)  # no such H4 packet type
    capture.notify(0x40, DATA_HANDLE, good[2])

    result = read_bytes(capture.bytes())

    assert [r.value for r in result.records] == good
    assert result.skipped == {
        "orphan-continuation": 1,
        "incomplete-l2cap": 1,
        "malformed-acl": 2,
        "malformed-l2cap": 1,
        "malformed-att": 1,
        "other-cid": 1,
        "empty-packet": 1,
        "unknown-packet-type": 1,
    }


def test_packets_cut_short_by_the_capture_are_counted() -> None:
    # Android's "filtered" snoop log keeps only the start of ACL packets.
    capture = Capture()
    capture.notify(0x40, DATA_HANDLE, data_packet(0, 11))
    head = bytes(
        hci.HCI_AclDataPacket(
            connection_handle=0x40,
            pb_flag=2,
            bc_flag=0,
            data_total_length=243,
            data=bytes(
                l2cap.L2CAP_PDU(
                    4,
                    bytes(
                        att.ATT_Handle_Value_Notification(
                            attribute_handle=DATA_HANDLE, attribute_value=data_packet(1, 11)
                        )
                    ),
                )
            ),
        )
    )
    clipped = struct.pack(">IIIIq", len(head), 20, 1, 0, BTSNOOP_EPOCH_DELTA_US) + head[:20]

    result = read_bytes(capture.bytes() + clipped)

    assert [r.value for r in result.records] == [data_packet(0, 11)]
    assert result.skipped == {"truncated-packet": 1}
    assert not result.truncated


def test_segmented_data_at_minimum_mtu_is_found_by_the_heuristic() -> None:
    # SPEC.md §2.4: at ATT MTU 23 a 96-byte DATA packet of n = 4 travels as 6 SEGMENTs.
    packet = data_packet(0, 4)
    segments = [
        bytes([0x04, 0x10, 7, index << 4 | 5]) + packet[16 * index : 16 * index + 16]
        for index in range(6)
    ]
    capture = Capture()
    for segment in segments:
        capture.notify(0x40, DATA_HANDLE, segment)
    capture.notify(0x40, 0x002A, bytes([80]))  # battery level

    result = read_bytes(capture.bytes())

    assert result.handles == {"data": DATA_HANDLE}
    assert [r.value for r in result.records] == segments
    assert result.skipped == {"other-attribute": 1}


def test_every_att_form_of_notify_and_write() -> None:
    capture = Capture()
    capture.acl(0x40, RX, bytes(characteristic_declarations()))
    capture.acl(
        0x40,
        RX,
        bytes(
            att.ATT_Handle_Value_Indication(
                attribute_handle=RESPONSE_HANDLE, attribute_value=HELLO_OK
            )
        ),
    )
    capture.acl(
        0x40,
        RX,
        b"\x23"
        + b"".join(  # multiple handle value notification (BT 5.2)
            struct.pack("<HH", handle, len(value)) + value
            for handle, value in ((DATA_HANDLE, data_packet(1, 1)), (RESPONSE_HANDLE, START_OK))
        ),
    )
    capture.acl(
        0x40,
        TX,
        bytes(att.ATT_Write_Request(attribute_handle=CONTROL_HANDLE, attribute_value=HELLO)),
    )
    capture.acl(
        0x40,
        TX,
        bytes(att.ATT_Signed_Write_Command(attribute_handle=CONTROL_HANDLE, attribute_value=START))
        + bytes(range(12)),
    )

    assert channels_and_values(read_bytes(capture.bytes())) == [
        (BLE_RESPONSE, HELLO_OK),
        (BLE_DATA, data_packet(1, 1)),
        (BLE_RESPONSE, START_OK),
        (BLE_CONTROL, HELLO),
        (BLE_CONTROL, START),
    ]


def test_disconnection_drops_a_half_reassembled_packet() -> None:
    capture = Capture()
    frame = bytes(
        l2cap.L2CAP_PDU(
            4,
            bytes(
                att.ATT_Handle_Value_Notification(
                    attribute_handle=DATA_HANDLE, attribute_value=data_packet(0, 11)
                )
            ),
        )
    )
    capture.raw(
        hci.HCI_AclDataPacket(
            connection_handle=0x40, pb_flag=2, bc_flag=0, data_total_length=100, data=frame[:100]
        ),
        RX,
    )
    capture.disconnected(0x40)
    capture.connected(0x40)
    capture.raw(
        hci.HCI_AclDataPacket(
            connection_handle=0x40,
            pb_flag=1,
            bc_flag=0,
            data_total_length=len(frame) - 100,
            data=frame[100:],
        ),
        RX,
    )
    capture.notify(0x40, DATA_HANDLE, data_packet(1, 11))

    result = read_bytes(capture.bytes())

    assert [r.value for r in result.records] == [data_packet(1, 11)]
    assert result.skipped == {"incomplete-l2cap": 1, "orphan-continuation": 1}


def test_conflicting_discoveries_keep_the_first(caplog: pytest.LogCaptureFixture) -> None:
    capture = Capture()
    capture.acl(0x40, RX, bytes(characteristic_declarations()))
    capture.acl(
        0x41,
        RX,
        bytes(
            att.ATT_Find_Information_Response(
                format=2, information_data=struct.pack("<H", 0x0030) + UUID(DATA_UUID).to_bytes()
            )
        ),
    )

    assert read_bytes(capture.bytes()).handles["data"] == DATA_HANDLE
    assert "0x0012 and at 0x0030" in caplog.text


# --- the Linux monitor datalink, packed by hand ------------------------------------------
def test_monitor_datalink_by_hand() -> None:
    t0_us = BTSNOOP_EPOCH_DELTA_US + 1_700_000_000_000_000  # 2023-11-14T22:13:20Z
    notification = b"\x1b" + struct.pack("<H", DATA_HANDLE) + data_packet(5, 1)
    write = b"\x52" + struct.pack("<H", CONTROL_HANDLE) + START

    def acl(handle: int, pdu: bytes) -> bytes:
        return struct.pack("<HHHH", 0x2000 | handle, len(pdu) + 4, len(pdu), 4) + pdu

    adapter = 1 << 16
    data = btsnoop_file(
        2001,
        [
            (adapter | 0, t0_us, b"\x01" + bytes(6) + b"hci1".ljust(8, b"\0")),  # new index
            (adapter | 12, t0_us, b"system note\0"),
            (adapter | 3, t0_us + 100, bytes([0x3E, 19, 0x01, 0x00, 0x01, 0x00]) + bytes(15)),
            (adapter | 4, t0_us + 200, acl(0x0001, write)),
            (adapter | 5, t0_us + 300, acl(0x0001, notification)),
            (2 << 16 | 5, t0_us + 400, acl(0x0001, notification)),  # another adapter
        ],
    )

    result = read_bytes(data)

    assert result.datalink == 2001
    assert result.packets_read == 6
    assert result.acl_fragments == 3
    assert result.handles == {"data": DATA_HANDLE, "control": CONTROL_HANDLE}
    assert [(r.host_time_ns, r.channel, r.value) for r in result.records] == [
        (1_700_000_000_000_200_000, BLE_CONTROL, START),
        (1_700_000_000_000_300_000, BLE_DATA, data_packet(5, 1)),
        (1_700_000_000_000_400_000, BLE_DATA, data_packet(5, 1)),
    ]
    assert result.start_time_ns == 1_700_000_000_000_200_000


# --- damaged and wrong files ---------------------------------------------------------
def test_truncated_file_keeps_the_records_before_the_cut() -> None:
    capture = Capture()
    packets = [data_packet(seq, 5) for seq in range(4)]
    for packet in packets:
        capture.notify(0x40, DATA_HANDLE, packet)
    data = capture.bytes()

    inside_body = read_bytes(data[:-7])
    assert inside_body.truncated
    assert [r.value for r in inside_body.records] == packets[:3]
    assert inside_body.packets_read == 3

    record_size = 24 + 5 + 4 + 3 + len(packets[0])
    inside_header = read_bytes(data[: len(data) - record_size + 10])
    assert inside_header.truncated
    assert [r.value for r in inside_header.records] == packets[:3]

    assert not read_bytes(data).truncated


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"", "truncated header"),
        (b"btsnoop\0\0\0", "truncated header"),
        (b"\xd4\xc3\xb2\xa1" + bytes(20), "pcap"),
        (b"PK\x03\x04" + bytes(20), "zip"),
        (b"\x89SACRUM\n" + bytes(8), "sacrum capture"),
        (b"hello, world" + bytes(8), "not a btsnoop file"),
        (b"btsnoop\0" + struct.pack(">II", 1, 1004), "unsupported btsnoop datalink 1004"),
        (b"btsnoop\0" + struct.pack(">II", 1, 1), "unsupported btsnoop datalink 1 "),
    ],
)
def test_wrong_files_are_refused_with_a_clear_message(head: bytes, message: str) -> None:
    with pytest.raises(BtsnoopError, match=message):
        read_bytes(head)


def test_no_sacrum_traffic_suggests_the_handle_arguments() -> None:
    capture = Capture()
    capture.notify(0x40, 0x0003, b"\x55")
    with pytest.raises(BtsnoopError, match=r"no sacrum traffic.*data_handle="):
        read_bytes(capture.bytes())
    with pytest.raises(BtsnoopError, match="no sacrum traffic"):
        read_bytes(b"btsnoop\0" + struct.pack(">II", 1, 1002))


def test_bad_handle_argument() -> None:
    with pytest.raises(BtsnoopError, match="data_handle"):
        read_bytes(b"btsnoop\0" + struct.pack(">II", 1, 1002), data_handle=0x10000)


# --- property-based: anything after a valid header -------------------------------------
HEADERS = [b"btsnoop\0" + struct.pack(">II", 1, datalink) for datalink in (1001, 1002, 2001)]


def _read_anything(data: bytes, **handles: int) -> BtsnoopImport | None:
    try:
        result = read_bytes(data, **handles)
    except BtsnoopError:
        return None
    assert all(r.channel in (BLE_DATA, BLE_RESPONSE, BLE_CONTROL) for r in result.records)
    assert all(isinstance(r.value, bytes) for r in result.records)
    return result


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(HEADERS), st.binary(max_size=400))
def test_random_bytes_after_a_valid_header(header: bytes, tail: bytes) -> None:
    _read_anything(header + tail)
    assert _read_anything(header + tail, data_handle=0x12, control_handle=0x15) is not None


_acl_like = st.builds(
    lambda handle, pb, cid, att_pdu, bad_length: (
        struct.pack("<HH", handle | pb << 12, len(att_pdu) + 4 + bad_length)
        + struct.pack("<HH", max(0, len(att_pdu) + bad_length), cid)
        + att_pdu
    ),
    st.sampled_from([0x40, 0x41]),
    st.integers(0, 3),
    st.sampled_from([4, 4, 4, 5]),
    st.one_of(
        st.binary(max_size=40),
        st.builds(
            lambda op, handle, value: bytes([op]) + struct.pack("<H", handle) + value,
            st.sampled_from([0x1B, 0x1D, 0x52, 0x12, 0x16, 0x18, 0x09, 0x05, 0x11, 0x23]),
            st.sampled_from([0x12, 0x15, 0x18]),
            st.one_of(
                st.binary(max_size=30),
                st.builds(data_packet, st.integers(0, 9), st.integers(1, 11)),
            ),
        ),
    ),
    st.sampled_from([0, 0, 0, -1, 1, 7]),
)
_record = st.tuples(
    st.integers(0, 3) | st.integers(0, 2**32 - 1),
    st.integers(-(2**62), 2**62),
    st.one_of(_acl_like.map(lambda acl: b"\x02" + acl), st.binary(max_size=30)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([1001, 1002, 2001]), st.lists(_record, max_size=12), st.integers(0, 30))
def test_random_records_after_a_valid_header(datalink: int, records, cut: int) -> None:
    if datalink != 1002:
        records = [(flags if datalink == 1001 else 5, t, p[1:]) for flags, t, p in records]
    data = btsnoop_file(datalink, records)
    data = data[: max(16, len(data) - cut)]  # the file header stays whole
    _read_anything(data)
    assert _read_anything(data, data_handle=0x12) is not None


def test_cli_import_makes_a_capture_that_decodes(session: Session, tmp_path, capsys) -> None:
    """`sacrum import-btsnoop` -> capture -> decoder: the notified samples come back."""
    from sacrum.apps.cli import main
    from sacrum.io.decode import decode_capture

    log = tmp_path / "btsnoop_hci.log"
    log.write_bytes(session.btsnoop)
    out = tmp_path / "imported.sacrum"
    assert main(["import-btsnoop", str(log), "--out", str(out)]) == 0
    assert "gatt-discovery" in capsys.readouterr().out
    table = decode_capture(out)
    sent = [v for ch, v in session.expected if ch == BLE_DATA and v[0] == 0x01]
    assert table.loss.packets_received == len(sent)
    # the session's last packet (seq 6, n 3) says sample_seq 18, inside the 66
    # samples already received: the decoder keeps the first copy and counts it
    assert table.loss.samples_received == sum(v[15] for v in sent[:-1]) == 66
    assert table.loss.duplicate_packets == 1
    assert table.header["transport"] == "btsnoop-import"
    assert table.responses == sum(1 for ch, _ in session.expected if ch == BLE_RESPONSE)

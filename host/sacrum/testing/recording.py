"""A recorded BLE session as a replayed device needs it: notifications, command answers,
outages.

:func:`load_recording` reads a sacrum capture (``.sacrum``, SPEC 5) or a btsnoop HCI log
(Android's ``btsnoop_hci.log``, ``btmon -w``; read by :mod:`sacrum.io.btsnoop`, as ``sacrum
import-btsnoop`` does) into a :class:`Recording`:

1. Data-characteristic notifications (channel BLE_DATA) in arrival order, timed in seconds
   since the first of them. A serial capture's frames (SERIAL_RX) are unframed and carried
   as the notifications a BLE link at the recording's MTU would have carried (SEGMENTed
   where a packet does not fit).
2. Command/answer pairs: every COMMAND written to the control characteristic (BLE_CONTROL,
   or SERIAL_TX) reassembled from its SEGMENTs and paired with the RESPONSE notified with
   the same token and opcode.
3. Outages: EVENT ``disconnected`` up to the next ``reconnected``/``connected`` (a capture);
   a change of HCI connection handle between two values (a btsnoop log).
4. Device information: the header's ``device`` merged with DEVICE records and the last
   battery level (EVENT ``battery``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sacrum_protocol as sp

BTSNOOP_MAGIC = b"btsnoop\0"


@dataclass(frozen=True)
class Exchange:
    """One recorded command and the device's answer (SPEC 2.2); ``response`` is the whole
    RESPONSE packet as the device sent it (its version byte included)."""

    opcode: int
    args: bytes
    result: int
    payload: bytes
    response: bytes = b""


@dataclass(frozen=True)
class Outage:
    """The link was down from ``start_s`` to ``end_s`` (s since the first data
    notification); ``end_s`` None: it never came back."""

    start_s: float
    end_s: float | None


@dataclass
class Recording:
    """What a replayed device replays (see the module docstring).

    data_t_s: arrival time of each data notification, s since the first one.
    data: the notification values, bytes exactly as recorded.
    exchanges: recorded commands with their answers, in order.
    outages: link drops, in order.
    starts_on_command: the recorded host sent START_STREAM before the first data arrived
        (the device then streams only when asked, as the firmware does).
    device: name, address, firmware, model, battery_percent, ... where known.
    mtu: the ATT MTU of the recorded link, if known.
    t0_ns: host time of the first data notification (ns since the Unix epoch).
    """

    source: Path
    data_t_s: list[float] = field(default_factory=list)
    data: list[bytes] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    outages: list[Outage] = field(default_factory=list)
    starts_on_command: bool = False
    device: dict[str, Any] = field(default_factory=dict)
    mtu: int | None = None
    t0_ns: int | None = None

    @property
    def duration_s(self) -> float:
        return self.data_t_s[-1] if self.data_t_s else 0.0


class RecordingError(ValueError):
    """A file that cannot be replayed (not a capture or btsnoop log, or no sacrum data)."""


def load_recording(path: str | os.PathLike) -> Recording:
    """The :class:`Recording` of a capture or a btsnoop log (told apart by their magic)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
    except OSError as e:
        raise RecordingError(f"cannot open {path}: {e.strerror}") from e
    items, meta = _from_btsnoop(path) if magic == BTSNOOP_MAGIC else _from_capture(path)
    rec = _build(path, items, **meta)
    if not rec.data:
        raise RecordingError(f"{path} holds no sacrum data notifications to replay")
    return rec


# items: (host_time_ns, what, value): what in "data", "response", "control",
# "down" (link lost), "up" (link back)
def _from_capture(path: Path) -> tuple[list[tuple[int, str, Any]], dict[str, Any]]:
    from sacrum.io.capture import CaptureError, CaptureReader

    try:
        reader = CaptureReader(path)
    except CaptureError as e:
        raise RecordingError(str(e)) from e
    device = dict(reader.device)
    items: list[tuple[int, str, Any]] = []
    mtu = reader.header.get("mtu")
    serial_mtu = mtu or 247
    tag = 0
    for r in reader.records():
        t = r.host_time_ns
        if r.kind == sp.KIND_PACKET:
            if r.channel == sp.CH_BLE_DATA:
                items.append((t, "data", r.payload))
            elif r.channel == sp.CH_BLE_RESPONSE:
                items.append((t, "response", r.payload))
            elif r.channel == sp.CH_BLE_CONTROL:
                items.append((t, "control", r.payload))
            elif r.channel in (sp.CH_SERIAL_RX, sp.CH_SERIAL_TX):
                try:
                    packet = sp.decode_frame(r.payload)
                except sp.ProtocolError:
                    continue  # a corrupt frame: a BLE link would not have carried it either
                if r.channel == sp.CH_SERIAL_TX:
                    items.append((t, "control", packet))
                    continue
                what = "response" if packet[:1] == bytes((sp.PTYPE_RESPONSE,)) else "data"
                parts = sp.segment(packet, serial_mtu, tag)
                if len(parts) > 1:
                    tag = (tag + 1) & 0xFF
                items += [(t, what, p) for p in parts]
        elif r.kind == sp.KIND_EVENT:
            try:
                ev = r.json()
            except ValueError:
                continue
            kind = ev.get("type")
            if kind == "disconnected":
                items.append((t, "down", None))
            elif kind in ("reconnected", "connected"):
                items.append((t, "up", None))
            elif kind == "battery" and isinstance(ev.get("battery_percent"), int):
                device["battery_percent"] = ev["battery_percent"]
            elif kind == "mtu" and isinstance(ev.get("mtu"), int) and mtu is None:
                mtu = ev["mtu"]
    device.update(reader.device)  # DEVICE records seen while reading
    return items, {"device": device, "mtu": mtu}


def _from_btsnoop(path: Path) -> tuple[list[tuple[int, str, Any]], dict[str, Any]]:
    from sacrum.io.btsnoop import BtsnoopError, read_btsnoop

    try:
        imp = read_btsnoop(path)
    except BtsnoopError as e:
        raise RecordingError(str(e)) from e
    names = {sp.CH_BLE_DATA: "data", sp.CH_BLE_RESPONSE: "response", sp.CH_BLE_CONTROL: "control"}
    items: list[tuple[int, str, Any]] = []
    handle = None
    for r in imp.records:
        if handle is not None and r.connection_handle != handle:
            items += [(r.host_time_ns - 1, "down", None), (r.host_time_ns, "up", None)]
        handle = r.connection_handle
        items.append((r.host_time_ns, names[r.channel], r.value))
    return items, {"device": {"name": "sacrum", "source": f"btsnoop log {path.name}"},
                   "mtu": None}


def _build(path: Path, items: list[tuple[int, str, Any]], *, device: dict[str, Any],
           mtu: int | None) -> Recording:
    rec = Recording(path, device=device, mtu=mtu)
    control, response = sp.Reassembler(), sp.Reassembler()
    pending: dict[tuple[int, int], tuple[int, bytes]] = {}  # (token, opcode) -> opcode, args
    start_sent = False
    t0 = next((t for t, what, _ in items if what == "data"), None)
    rec.t0_ns = t0
    down_at: float | None = None
    for t, what, value in items:
        t_s = 0.0 if t0 is None else (t - t0) * 1e-9
        if what == "data":
            if not rec.data:
                rec.starts_on_command = start_sent
            rec.data_t_s.append(max(t_s, rec.data_t_s[-1] if rec.data_t_s else 0.0))
            rec.data.append(bytes(value))
        elif what == "control":
            try:
                packet = control.push(value)
                if packet is None:
                    continue
                _, token, opcode, args = sp.decode_command(packet)
            except sp.ProtocolError:
                continue
            pending[(token, opcode)] = (opcode, args)
            start_sent |= opcode == sp.OP_START_STREAM and not rec.data
        elif what == "response":
            try:
                packet = response.push(value)
                if packet is None:
                    continue
                _, token, opcode, result, payload = sp.decode_response(packet)
            except sp.ProtocolError:
                continue
            asked = pending.pop((token, opcode), None)
            if asked is not None:
                rec.exchanges.append(Exchange(opcode, asked[1], result, payload, bytes(packet)))
        elif what == "down" and rec.data and down_at is None:
            down_at = t_s
        elif what == "up" and down_at is not None:
            rec.outages.append(Outage(down_at, max(t_s, down_at)))
            down_at = None
    if down_at is not None:
        rec.outages.append(Outage(down_at, None))
    return rec

"""Transports: one interface, several backends (as bleak has one client).

Every source of packets -- a replayed capture, and later BLE, USB serial and
the simulator -- is a :class:`Transport`: an async context manager and an
async iterator of :class:`Packet`. The pipeline never asks which one it has.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Packet:
    """Bytes exactly as they arrived, on which channel (SPEC 5.3), and when.

    host_time_ns: receive time, ns since the Unix epoch.
    """

    host_time_ns: int
    channel: int
    data: bytes


@dataclass(frozen=True)
class LinkEvent:
    """Something that happened to the link rather than a packet (SPEC 5.2, EVENT records).

    type: "connected" | "disconnected" | "reconnected" | "mtu" | "rssi" | "battery" |
        "device" (device information learnt after connecting); fields: its details, e.g.
        {"mtu": 247}, {"rssi_dbm": -61}, {"battery_percent": 80}, {"reason": "..."}.
    host_time_ns: when it happened, ns since the Unix epoch.
    """

    host_time_ns: int
    type: str
    fields: dict[str, Any] = field(default_factory=dict)


class TransportError(RuntimeError):
    """The link failed in a way the user must act on (message says how)."""


@dataclass
class TransportInfo:
    """What a transport knows about its link and device."""

    kind: str  # "replay", "ble", "serial", "simulator"
    device: dict[str, Any] = field(default_factory=dict)
    mtu: int | None = None
    connected: bool = False
    rssi_dbm: int | None = None  # BLE signal strength when the platform reports it
    battery_percent: int | None = None
    reconnects: int = 0  # successful reconnections after a drop


class Transport(abc.ABC):
    """Async stream of timestamped packets from one sacrum device.

    Use as ``async with transport: async for item in transport: ...``; each item is a
    :class:`Packet`, or a :class:`LinkEvent` (a drop, a reconnection, a new MTU, RSSI,
    battery) that consumers record and show but never decode.
    ``send`` writes a COMMAND packet to the device where the link allows it.
    """

    info: TransportInfo

    async def __aenter__(self) -> Transport:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abc.abstractmethod
    async def connect(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[Packet | LinkEvent]: ...

    async def send(self, packet: bytes) -> None:
        raise TransportError(f"the {self.info.kind} transport cannot send commands")


async def drain(queue) -> AsyncIterator[Packet | LinkEvent]:
    """The items a live transport's receive callbacks put on ``queue`` (an asyncio.Queue),
    until the None that ``close`` puts there."""
    while True:
        item = await queue.get()
        if item is None:
            return
        yield item

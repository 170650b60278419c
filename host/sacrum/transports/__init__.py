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


class TransportError(RuntimeError):
    """The link failed in a way the user must act on (message says how)."""


@dataclass
class TransportInfo:
    """What a transport knows about its link and device."""

    kind: str  # "replay", "ble", "serial", "simulator"
    device: dict[str, Any] = field(default_factory=dict)
    mtu: int | None = None


class Transport(abc.ABC):
    """Async stream of timestamped packets from one sacrum device.

    Use as ``async with transport: async for packet in transport: ...``.
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
    def __aiter__(self) -> AsyncIterator[Packet]: ...

    async def send(self, packet: bytes) -> None:
        raise TransportError(f"the {self.info.kind} transport cannot send commands")

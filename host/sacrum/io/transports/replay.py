"""Replay a capture as if it were arriving now."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import sacrum_protocol as sp
from sacrum.io.capture import CaptureReader
from sacrum.io.transports import Packet, Transport, TransportInfo


class ReplayTransport(Transport):
    """Yields a capture's packets with their original spacing.

    speed: 1.0 replays in real time, 2.0 twice as fast, None as fast as
    possible. restamp: give packets the current host time (as a live link
    would) instead of the recorded one.
    """

    def __init__(self, path: str | os.PathLike, *, speed: float | None = 1.0,
                 restamp: bool = False) -> None:
        self.reader = CaptureReader(path)
        self.speed = speed
        self.restamp = restamp
        self.info = TransportInfo("replay", dict(self.reader.device), self.reader.header.get("mtu"))
        self._open = False

    async def connect(self) -> None:
        self._open = True
        self.info.connected = True

    async def close(self) -> None:
        self._open = False
        self.info.connected = False

    async def __aiter__(self) -> AsyncIterator[Packet]:
        t0_rec: int | None = None
        t0_wall = time.monotonic_ns()
        offset = time.time_ns()
        for rec in self.reader.records():
            if not self._open:
                return
            if rec.kind != sp.KIND_PACKET:
                continue
            if t0_rec is None:
                t0_rec = rec.host_time_ns
            due_ns = rec.host_time_ns - t0_rec
            if self.speed:
                wait = t0_wall + due_ns / self.speed - time.monotonic_ns()
                if wait > 1e6:  # sleep only when ahead by > 1 ms
                    await asyncio.sleep(wait * 1e-9)
            stamp = offset + int(due_ns / (self.speed or 1.0)) if self.restamp else rec.host_time_ns
            yield Packet(stamp, rec.channel, rec.payload)

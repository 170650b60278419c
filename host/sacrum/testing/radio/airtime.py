"""A Bumble virtual controller whose link has air time: connection events, buffers.

Bumble's virtual controller passes every ACL packet on at once and reports it completed
at once, so its host never holds a packet back and a notification can never be refused.
A real controller sends a few link-layer PDUs per connection event and reports them
completed (HCI Number Of Completed Packets) only then; the host queues what the
controller's buffers cannot take, and a stack whose queue is full refuses new
notifications (NimBLE: ENOMEM). This controller keeps the ACL packets its host gives it
and sends at most ``pdus_per_event`` of them per connection event of ``interval_s``;
``buffers`` is the number it reports it can hold (HCI LE Read Buffer Size), so Bumble's
host flow control (``DataPacketQueue``) does the rest exactly as against a chip.

Parameters: interval_s, the connection interval (s; 7.5 ms is the shortest BLE allows,
what a phone or BlueZ grants a sensor that asks); pdus_per_event, PDUs the controller
sends per connection event (27-byte PDUs, no data length extension); buffers, the ACL
buffers of the controller. Events that the event loop was too late for are caught up
(the air does not wait for Python), so loop jitter does not lower the capacity.
"""

from __future__ import annotations

import asyncio
import collections
import time

from bumble import hci
from bumble.controller import Controller


class AirtimeController(Controller):
    """``Controller`` with the link capacity of a connection (see the module docstring)."""

    def __init__(self, *args, interval_s: float = 0.0075, pdus_per_event: int = 6,
                 buffers: int = 12, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.interval_s = interval_s
        self.pdus_per_event = pdus_per_event
        self.total_num_le_acl_data_packets = buffers
        self.total_num_acl_data_packets = buffers
        self._held: collections.deque[hci.HCI_AclDataPacket] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._next_event = 0.0
        self.pdus_sent = 0
        self.max_held = 0

    def on_hci_acl_data_packet(self, packet: hci.HCI_AclDataPacket) -> None:
        self._held.append(packet)
        self.max_held = max(self.max_held, len(self._held))
        if self._timer is None:
            now = time.monotonic()
            self._next_event = max(self._next_event, now)
            self._timer = asyncio.get_running_loop().call_at(
                asyncio.get_running_loop().time() + (self._next_event - now), self._event)

    def _event(self) -> None:
        """One (or, when late, several) connection events' worth of PDUs goes out."""
        self._timer = None
        now = time.monotonic()
        events = 1 + max(0, int((now - self._next_event) / self.interval_s))
        budget = events * self.pdus_per_event
        while self._held and budget > 0:
            packet = self._held.popleft()
            budget -= 1
            self.pdus_sent += 1
            super().on_hci_acl_data_packet(packet)  # to the peer, and completed to our host
        self._next_event = max(self._next_event + events * self.interval_s, now)
        if self._held:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(loop.time() + (self._next_event - now), self._event)

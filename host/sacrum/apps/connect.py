"""The transport a command line asks for, by name: the one place the apps choose a backend.

It lives with the apps, not in ``sacrum.io.transports``, because one of its backends, the
simulated sensor, is test machinery (``sacrum.testing.simulator``) the io stage must not
import.
"""

from __future__ import annotations

from typing import Any

from sacrum.io.transports import Transport, TransportError


def open_transport(kind: str, target: str | None = None, **options: Any) -> Transport:
    """The transport for a command line's choice: ``kind`` one of "replay" (target: a
    capture path), "ble" (target: name or address, None = the first sacrum found),
    "serial" (target: port, None = auto-detect by USB VID/PID), "simulate" (no target).
    ``options`` go to the transport's constructor (e.g. ``speed`` for replay)."""
    if kind == "replay":
        from sacrum.io.transports.replay import ReplayTransport

        if target is None:
            raise TransportError("replay needs a capture file")
        return ReplayTransport(target, **options)
    if kind == "ble":
        from sacrum.io.transports.ble import BleTransport

        return BleTransport(target, **options)
    if kind == "serial":
        from sacrum.io.transports.serial import SerialTransport

        return SerialTransport(target, **options)
    if kind in ("simulate", "simulator"):
        from sacrum.testing.simulator import SimulatorTransport

        if target is not None:
            raise TransportError("the simulator takes no target (options: rate_hz, speed, mtu)")
        return SimulatorTransport(**options)
    raise TransportError(f"unknown transport {kind!r} (replay, ble, serial, simulate)")

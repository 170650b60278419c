"""COMMAND → RESPONSE matching shared by the live transports (SPEC 2.2).

Each command gets a fresh token; the RESPONSE carrying that token resolves its future.
Timeouts follow SPEC 2.2: 3 s, 10 s for CALIBRATE_GYRO.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import sacrum_protocol as sp
from sacrum.io.transports import TransportError

DEFAULT_TIMEOUT_S = 3.0
CALIBRATE_TIMEOUT_S = 10.0


class CommandTimeoutError(TransportError):
    """No RESPONSE arrived in time."""


@dataclass(frozen=True)
class Response:
    """A decoded RESPONSE (SPEC 2.2); ``payload`` is empty unless ``result`` is OK."""

    token: int
    opcode: int
    result: int
    payload: bytes

    @property
    def ok(self) -> bool:
        return self.result == sp.RESULT_OK

    @property
    def result_name(self) -> str:
        return sp.RESULT_NAMES.get(self.result, f"result {self.result}")


def device_facts(version: int, status_payload: bytes) -> dict[str, Any]:
    """The device's own name and its IMU from a GET_STATUS payload sent in ``version`` (the
    RESPONSE's byte 1; SPEC 2.3): what Device Information does not carry, for the capture's
    DEVICE record. {} if the payload does not parse."""
    try:
        values, name = sp.unpack_status(status_payload, version)
    except sp.ProtocolError:
        return {}
    imu = int(dict(zip(sp.STATUS_FIELDS, values, strict=False))["imu_type"])
    facts: dict[str, Any] = {"imu": sp.IMU_NAMES.get(imu, f"IMU type {imu}")}
    if name:
        facts["name"] = name
    return facts


def default_timeout_s(opcode: int) -> float:
    return CALIBRATE_TIMEOUT_S if opcode == sp.OP_CALIBRATE_GYRO else DEFAULT_TIMEOUT_S


class PendingCommands:
    """Tokens of commands awaiting their RESPONSE, and the futures to resolve."""

    def __init__(self) -> None:
        self._token = 0
        self._waiting: dict[int, asyncio.Future[Response]] = {}
        self.unmatched = 0  # responses nobody waited for (late, or another host's)
        self.corrupt = 0

    def new(self, opcode: int, args: bytes = b"") -> tuple[bytes, asyncio.Future[Response]]:
        """A COMMAND packet with a fresh token, and the future of its RESPONSE."""
        for _ in range(256):
            self._token = (self._token + 1) & 0xFF
            if self._token not in self._waiting:
                break
        else:
            raise TransportError("256 commands are waiting for responses; is the device alive?")
        fut: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._waiting[self._token] = fut
        return sp.encode_command(self._token, opcode, args), fut

    def forget(self, fut: asyncio.Future[Response]) -> None:
        for token, f in list(self._waiting.items()):
            if f is fut:
                del self._waiting[token]

    def resolve(self, packet: bytes) -> Response | None:
        """Match a RESPONSE packet to its command; None if it is not a valid RESPONSE."""
        try:
            _, token, opcode, result, payload = sp.decode_response(packet)
        except sp.ProtocolError:
            self.corrupt += 1
            return None
        resp = Response(token, opcode, result, payload)
        fut = self._waiting.pop(token, None)
        if fut is None or fut.done():
            self.unmatched += 1
        else:
            fut.set_result(resp)
        return resp

    def fail_all(self, exc: Exception) -> None:
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(exc)
        self._waiting.clear()


async def await_response(pending: PendingCommands, fut: asyncio.Future[Response], opcode: int,
                         timeout_s: float | None) -> Response:
    timeout_s = default_timeout_s(opcode) if timeout_s is None else timeout_s
    try:
        return await asyncio.wait_for(fut, timeout_s)
    except TimeoutError:
        pending.forget(fut)
        name = sp.OPCODE_NAMES.get(opcode, f"0x{opcode:02x}")
        raise CommandTimeoutError(f"no response to {name} within {timeout_s:g} s; is the device "
                             "connected and running sacrum firmware?") from None


async def send_command(send, pending: PendingCommands, opcode: int, payload: bytes = b"",
                       timeout_s: float | None = None) -> Response:
    """Send a COMMAND through ``send`` (a transport's ``send``) and await its RESPONSE
    (SPEC 2.2 timeouts by default); a failed send forgets the token."""
    packet, fut = pending.new(opcode, payload)
    try:
        await send(packet)
    except TransportError:
        pending.forget(fut)
        raise
    return await await_response(pending, fut, opcode, timeout_s)

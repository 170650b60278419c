"""Strangers near a secured sensor: what they try, what they get (issue 15 item 3).

:func:`try_everything` connects a Bumble central of its own to the sensor (on the
simulator's virtual link), subscribes to DATA and RESPONSE, reads every readable
characteristic, optionally pairs (Just Works works on the stranger's side; outside the
pairing window the firmware's store refuses the keys), writes every command of the
protocol to the control characteristic and listens for a while. It reports what was
refused and how (the stack's ATT error, or the firmware's NOT_BONDED) and how many DATA
notifications arrived (none, when security works).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from bumble import hci
from bumble.att import ATT_Error
from bumble.core import UUID
from bumble.device import Device, Peer

import sacrum_protocol as sp
from sacrum.io.transports.bumble_backend import VirtualRadio

# the stack's own GATT service (Bumble's Database Hash read hangs; not the firmware's)
_GENERIC_ATTRIBUTE = str(UUID.from_16_bits(0x1801)).lower()


def every_command() -> list[bytes]:
    """One valid COMMAND per opcode, the harmful ones included (SET_NAME, SET_LINK serial,
    SECURITY off, REBOOT)."""
    args = {sp.OP_HELLO: bytes((sp.VERSION_MIN, sp.VERSION_MAX)),
            sp.OP_SET_RATE: (50).to_bytes(2, "little"), sp.OP_CALIBRATE_GYRO: bytes(2),
            sp.OP_IDENTIFY: b"\x01", sp.OP_SET_NAME: b"pwned", sp.OP_SET_LINK: b"\x01",
            sp.OP_SECURITY: bytes((sp.SECURITY_OFF,))}
    return [sp.encode_command(i + 1, op, args.get(op, b""))
            for i, op in enumerate(sorted(sp.OPCODE_NAMES))]


@dataclass
class Attempt:
    """What one stranger got: per command the outcome ('att:<code>', a result name, or
    'no answer'), reads that returned a value, DATA notifications received."""

    who: str
    paired: bool
    outcomes: dict[str, str] = field(default_factory=dict)
    reads: int = 0
    data_notifications: int = 0

    def line(self) -> str:
        counts: dict[str, int] = {}
        for o in self.outcomes.values():
            counts[o] = counts.get(o, 0) + 1
        how = ", ".join(f"{n} {_outcome_name(o)}" for o, n in sorted(counts.items()))
        return (f"{self.who}: {len(self.outcomes)} commands sent: {how}; "
                f"{self.data_notifications} DATA notifications; {self.reads} public reads "
                "(device information, battery)")


def _outcome_name(o: str) -> str:
    if o.startswith("att:"):
        code = int(o[4:])
        return f"refused by the stack (ATT error 0x{code:02x})"
    if o == "NOT_BONDED":
        return "refused by the firmware (NOT_BONDED)"
    return f"answered {o}"


async def _central(radio: VirtualRadio, address: str, name: str) -> Device:
    dev = radio.device(name, address)
    await dev.power_on()
    return dev


async def try_everything(radio: VirtualRadio, sensor_address: hci.Address, who: str,
                         central_address: str, pair: bool, listen_s: float = 0.5) -> Attempt:
    """One stranger's visit (see the module's docstring); the link is dropped at the end."""
    central = await _central(radio, central_address, who)
    attempt = Attempt(who, pair)
    conn = await asyncio.wait_for(central.connect(sensor_address), 10.0)
    try:
        peer = Peer(conn)
        await peer.discover_services()
        responses: list[bytes] = []
        data: list[bytes] = []
        control = None
        for svc in peer.services:
            await svc.discover_characteristics()
            for ch in svc.characteristics:
                uuid = str(ch.uuid).lower()
                if uuid == sp.DATA_CHAR_UUID:
                    await ch.subscribe(data.append)
                elif uuid == sp.RESPONSE_CHAR_UUID:
                    await ch.subscribe(responses.append)
                elif uuid == sp.CONTROL_CHAR_UUID:
                    control = ch
                if ch.properties & 0x02 and str(svc.uuid).lower() != _GENERIC_ATTRIBUTE:
                    with contextlib.suppress(ATT_Error, TimeoutError):
                        await asyncio.wait_for(ch.read_value(), 2.0)
                        attempt.reads += 1
        if pair:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.pair(), 10.0)
        assert control is not None, "the sensor has no control characteristic"
        for packet in every_command():
            name = sp.OPCODE_NAMES[packet[3]]
            before = len(responses)
            try:
                await control.write_value(packet, with_response=True)
            except ATT_Error as e:
                attempt.outcomes[name] = f"att:{e.error_code}"
                continue
            outcome = "no answer"
            for _ in range(100):
                if len(responses) > before:
                    outcome = sp.RESULT_NAMES.get(sp.decode_response(responses[-1])[3], "?")
                    break
                await asyncio.sleep(0.01)
            attempt.outcomes[name] = outcome
        await asyncio.sleep(listen_s)
        attempt.data_notifications = len(data)
    finally:
        with contextlib.suppress(Exception):
            await conn.disconnect()
        await asyncio.sleep(0.3)  # the sensor advertises again
        with contextlib.suppress(Exception):
            await central.power_off()
    return attempt

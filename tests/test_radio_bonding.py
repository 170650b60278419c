"""Pairing, bonding and refusal on the real firmware, over the real stack (issue 15 item 3).

The firmware (firmware/sim/radio_run.py with a bond file: security on, as on a new board)
runs under MicroPython behind the unix ``bluetooth`` module on a Bumble peripheral; Bumble
centrals on the same virtual link play the owner's host and two strangers:

* an intruder that never pairs: subscribes to DATA, reads, and writes every command on
  the control characteristic (the stack refuses each with ATT Insufficient Encryption);
* a second host that pairs outside the pairing window (Just Works succeeds on its side,
  the firmware's store refuses the keys): every command is answered NOT_BONDED;
* the owner, after BOOT is held 3 s: bonds, streams DATA; then the firmware restarts with
  the same bond file (a reboot) and the owner encrypts again with the stored keys and
  commands it without pairing again.

Neither stranger gets a DATA notification or changes anything (the device's name and
streaming state after them are what they were). Bounded: about 20 s.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bumble.att import ATT_INSUFFICIENT_ENCRYPTION_ERROR, ATT_Error
from bumble.device import Peer

import sacrum_protocol as sp
from sacrum.io.transports.bumble_backend import VirtualRadio
from sacrum.testing.radio import RadioPeripheral
from sacrum.testing.radio.firmware import FirmwareOnRadio

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime

RATE_HZ = 100
NAME = "sacrum-bond"


def _every_command() -> list[bytes]:
    args = {sp.OP_HELLO: bytes((0x10, 0x11)), sp.OP_SET_RATE: (50).to_bytes(2, "little"),
            sp.OP_CALIBRATE_GYRO: bytes(2), sp.OP_IDENTIFY: b"\x01", sp.OP_SET_NAME: b"pwned",
            sp.OP_SET_LINK: b"\x01", sp.OP_SECURITY: b"\x00"}
    return [sp.encode_command(i + 1, op, args.get(op, b"")) for i, op in
            enumerate(sorted(sp.OPCODE_NAMES))]


class Host:
    """A Bumble central on the sensor's service: DATA and RESPONSE notifications kept."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.data: list[bytes] = []
        self.responses: list[bytes] = []

    @classmethod
    async def connect(cls, central, peripheral) -> Host:
        conn = await central.connect(peripheral.device.random_address)
        host = cls(conn)
        peer = Peer(conn)
        await peer.discover_services()
        svc = next(s for s in peer.services if str(s.uuid).lower() == sp.SERVICE_UUID)
        await svc.discover_characteristics()
        by = {str(c.uuid).lower(): c for c in svc.characteristics}
        host.control = by[sp.CONTROL_CHAR_UUID]
        await by[sp.DATA_CHAR_UUID].subscribe(host.data.append)
        await by[sp.RESPONSE_CHAR_UUID].subscribe(host.responses.append)
        return host

    async def command(self, packet: bytes) -> str:
        """'att:<code>' if the stack refused the write, else the answer's result name."""
        before = len(self.responses)
        try:
            await self.control.write_value(packet, with_response=True)
        except ATT_Error as e:
            return f"att:{e.error_code}"
        for _ in range(100):
            if len(self.responses) > before:
                return sp.RESULT_NAMES[sp.decode_response(self.responses[-1])[3]]
            await asyncio.sleep(0.01)
        return "no answer"

    async def leave(self) -> None:
        await self.conn.disconnect()
        await asyncio.sleep(0.3)


async def _session(tmp_path) -> dict:
    t = np.arange(60 * RATE_HZ) / RATE_HZ
    acc = np.column_stack([0.1 * np.sin(t), 0.1 * np.cos(t), 9.81 + 0 * t])
    gyr = np.column_stack([0.02 * np.sin(t), 0 * t, 0 * t])
    bonds = tmp_path / "bonds.json"
    seen: dict = {}
    radio = VirtualRadio()
    peripheral = RadioPeripheral(radio.link)
    fw = FirmwareOnRadio(peripheral, acc, gyr, RATE_HZ, NAME, bonds=bonds)
    await fw.start()
    intruder_central = await radio.central()
    intruder = await Host.connect(intruder_central, peripheral)
    seen["intruder"] = [await intruder.command(c) for c in _every_command()]
    await asyncio.sleep(0.5)
    seen["intruder_data"] = len(intruder.data)
    await intruder.leave()

    stranger_central = await radio.central()  # a second host, paired outside the window
    stranger = await Host.connect(stranger_central, peripheral)
    await stranger.conn.pair()
    seen["stranger_encrypted"] = stranger.conn.is_encrypted
    seen["stranger"] = [await stranger.command(c) for c in _every_command()]
    await asyncio.sleep(0.5)
    seen["stranger_data"] = len(stranger.data)
    await stranger.leave()

    owner_central = await radio.central()
    press = asyncio.get_running_loop().create_task(fw.press_boot(3.3))
    await asyncio.sleep(3.2)  # the window opens at 3 s
    owner = await Host.connect(owner_central, peripheral)
    await owner.conn.pair()
    await press
    await asyncio.sleep(0.2)
    seen["owner_status"] = await owner.command(sp.encode_command(1, sp.OP_GET_STATUS))
    values, seen["owner_name"] = sp.unpack_status(sp.decode_response(owner.responses[-1])[4])
    seen["owner_before"] = dict(zip(("streaming", "rate_hz", "link"), values[7:9] + values[11:12],
                                    strict=True))
    seen["owner_start"] = await owner.command(sp.encode_command(2, sp.OP_START_STREAM))
    await asyncio.sleep(1.0)
    seen["owner_data"] = len(owner.data)
    await owner.command(sp.encode_command(3, sp.OP_STOP_STREAM))
    await owner.leave()
    seen["first"] = await fw.stop()

    # a reboot: the same bond file, a new process; the owner encrypts with its stored keys
    peripheral2 = RadioPeripheral(radio.link)
    fw2 = FirmwareOnRadio(peripheral2, acc, gyr, RATE_HZ, NAME, bonds=bonds)
    await fw2.start()
    again = await Host.connect(owner_central, peripheral2)
    await again.conn.encrypt()
    await asyncio.sleep(0.2)
    seen["reboot_status"] = await again.command(sp.encode_command(4, sp.OP_GET_STATUS))
    seen["forget"] = await again.command(
        sp.encode_command(5, sp.OP_SECURITY, bytes((sp.SECURITY_FORGET_BONDS,))))
    await again.leave()
    seen["second"] = await fw2.stop()
    seen["bond_file"] = bonds.read_text()
    return seen


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    return asyncio.run(asyncio.wait_for(_session(tmp_path_factory.mktemp("bond")), 60))


def test_an_unpaired_central_has_every_command_refused_by_the_stack_and_gets_no_data(seen):
    assert seen["intruder"] == [f"att:{ATT_INSUFFICIENT_ENCRYPTION_ERROR}"] * len(sp.OPCODE_NAMES)
    assert seen["intruder_data"] == 0


def test_a_host_paired_outside_the_window_is_answered_not_bonded_and_gets_no_data(seen):
    assert seen["stranger_encrypted"]
    assert seen["stranger"] == ["NOT_BONDED"] * len(sp.OPCODE_NAMES)
    assert seen["stranger_data"] == 0
    sec = seen["first"]["security"]
    assert sec["refused_commands"] == len(sp.OPCODE_NAMES)
    assert sec["refused_pairings"] >= 1


def test_the_strangers_changed_nothing(seen):
    assert seen["owner_name"] == NAME  # SET_NAME "pwned" never ran
    # START_STREAM, SET_RATE 50, SET_LINK serial never ran either (GET_STATUS before the owner's)
    assert seen["owner_before"] == {"streaming": 0, "rate_hz": RATE_HZ, "link": 0}
    assert seen["first"]["fault_events"] == 0


def test_the_owner_bonds_in_the_window_and_streams(seen):
    assert seen["owner_status"] == "OK" and seen["owner_start"] == "OK"
    assert seen["owner_data"] > 0
    assert seen["first"]["security"]["bonds_stored"] == 1


def test_the_bond_survives_a_reboot_and_a_bonded_host_can_forget_it(seen):
    assert seen["reboot_status"] == "OK"
    assert seen["forget"] == "OK"
    assert seen["second"]["security"]["bonds"] == 0
    assert seen["bond_file"].strip() == "[]"  # written after the forget

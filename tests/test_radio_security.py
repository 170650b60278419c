"""Encryption on the real stack through the unix-port ``bluetooth`` module (issue 15 item 3,
the stack's part): a characteristic flagged ``_FLAG_WRITE_ENCRYPTED`` refuses a write on
an unencrypted link with an ATT error; after LE Secure Connections pairing with bonding
(Just Works: the board has no display) the write goes through, and the program hears
``_IRQ_ENCRYPTION_UPDATE`` with MicroPython's tuple. The firmware does not use this yet
(no pairing window, no key persistence through ``_IRQ_GET_SECRET``/``_SET_SECRET``).
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from bumble.att import ATT_INSUFFICIENT_ENCRYPTION_ERROR, ATT_Error
from bumble.device import Peer

from sacrum import resources
from sacrum.io.transports.bumble_backend import VirtualRadio
from sacrum.testing.radio import RadioPeripheral
from sacrum.testing.radio.firmware import micropython_binary

SVC = "5ac17777-5e1d-4b6e-a1c3-7f0e2d9c4b10"
CHR = "5ac17778-5e1d-4b6e-a1c3-7f0e2d9c4b10"

PROGRAM = """
import json, sys, time, select
import bluetooth

ble = bluetooth.BLE()
ble.active(True)
ble.config(bond=True, le_secure=True, mitm=False, io=3)
events = []

def irq(event, data):
    if event == 3:
        events.append(["write", bytes(ble.gatts_read(data[1])).decode()])
    elif event == 28:
        events.append(["encryption", data[0], data[1], data[2], data[3], data[4]])

ble.irq(irq)
((h,),) = ble.gatts_register_services(
    ((bluetooth.UUID("SVC"), ((bluetooth.UUID("CHR"), 0x0008 | 0x1000),)),))
ble.gap_advertise(100000, adv_data=b"\\x02\\x01\\x06")
print("ready")
poll = select.poll()
poll.register(sys.stdin, select.POLLIN)
while not poll.poll(0):
    time.sleep_ms(5)
print("result " + json.dumps(events))
""".replace("SVC", SVC).replace("CHR", CHR)


async def _session(tmp_path) -> dict:
    radio = VirtualRadio()
    peripheral = RadioPeripheral(radio.link)
    port = await peripheral.listen()
    script = tmp_path / "secure.py"
    script.write_text(PROGRAM)
    env = dict(os.environ, SACRUM_RADIO_PORT=str(port),
               MICROPYPATH=str(resources.firmware_dir() / "sim" / "unix_bluetooth"))
    proc = await asyncio.create_subprocess_exec(
        micropython_binary(), str(script), env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    seen: dict = {}

    async def line(prefix: str) -> str:
        while True:
            text = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
            assert text, f"the program ended before {prefix!r}"
            if text.startswith(prefix):
                return text[len(prefix):].strip()

    await line("ready")
    central = await radio.central()
    conn = await central.connect(peripheral.device.random_address)
    peer = Peer(conn)
    await peer.discover_services()
    svc = next(s for s in peer.services if str(s.uuid).lower() == SVC)
    await svc.discover_characteristics()
    char = svc.characteristics[0]
    try:
        await char.write_value(b"plain", with_response=True)
    except ATT_Error as e:
        seen["plain_error"] = e.error_code
    await conn.pair()
    await asyncio.sleep(0.1)
    seen["central_encrypted"] = conn.is_encrypted
    await char.write_value(b"secret", with_response=True)
    await asyncio.sleep(0.1)
    proc.stdin.write(b"end\n")
    await proc.stdin.drain()
    seen["events"] = json.loads(await line("result "))
    await proc.wait()
    await peripheral.close()
    return seen


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    return asyncio.run(_session(tmp_path_factory.mktemp("secure")))


def test_an_encrypted_characteristic_refuses_a_plain_write(seen):
    assert seen["plain_error"] == ATT_INSUFFICIENT_ENCRYPTION_ERROR
    assert ["write", "plain"] not in seen["events"]  # the firmware never saw it


def test_after_secure_pairing_the_write_arrives_and_the_irq_says_encrypted_and_bonded(seen):
    assert seen["central_encrypted"]
    updates = [e for e in seen["events"] if e[0] == "encryption"]
    # (conn_handle, encrypted, authenticated, bonded, key_size): bonded once the keys are
    # exchanged; "authenticated" is what Bumble's SMP reports, not checked here
    assert updates and updates[-1][2] is True and updates[-1][4:] == [True, 16]
    assert ["write", "secret"] in seen["events"]

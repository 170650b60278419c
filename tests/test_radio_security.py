"""Encryption on the real stack through the unix-port ``bluetooth`` module (issue 15 item 3,
the stack's part): a characteristic flagged ``_FLAG_WRITE_ENCRYPTED`` refuses a write on
an unencrypted link with an ATT error; after LE Secure Connections pairing with bonding
(Just Works: the board has no display) the write goes through, and the program hears
``_IRQ_ENCRYPTION_UPDATE`` with MicroPython's tuple. The keys live in the program: the
stack asks for them through ``_IRQ_SET_SECRET``/``_IRQ_GET_SECRET`` (a dict here, as
aioble's security.py keeps them), so a reconnecting central encrypts again with keys the
program gave back; a program that refuses to store them leaves the peer without a bond.
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

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime

SVC = "5ac17777-5e1d-4b6e-a1c3-7f0e2d9c4b10"
CHR = "5ac17778-5e1d-4b6e-a1c3-7f0e2d9c4b10"

PROGRAM = """
import json, sys, time, select
import bluetooth

ble = bluetooth.BLE()
ble.active(True)
ble.config(bond=True, le_secure=True, mitm=False, io=3)
events = []
secrets = {}
STORE = sys.argv[1] == "store"

def irq(event, data):
    if event == 30:
        sec_type, key, value = data
        events.append(["set", sec_type, value is not None])
        if not STORE:
            return False
        if value is None:
            secrets.pop((sec_type, bytes(key)), None)
        else:
            secrets[(sec_type, bytes(key))] = bytes(value)
        return True
    if event == 29:
        sec_type, index, key = data
        if key is None:
            vals = [v for (t, _), v in secrets.items() if t == sec_type]
            return vals[index] if index < len(vals) else None
        events.append(["get", sec_type])
        return secrets.get((sec_type, bytes(key)))
    if event == 2:
        events.append(["disconnect"])
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
advertised = 0
while not poll.poll(0):
    gone = events.count(["disconnect"])
    if gone != advertised:  # a central left: advertise again, as the firmware does
        advertised = gone
        ble.gap_advertise(100000, adv_data=b"\\x02\\x01\\x06")
    time.sleep_ms(5)
print("result " + json.dumps(events))
""".replace("SVC", SVC).replace("CHR", CHR)


async def _session(tmp_path, store: bool = True) -> dict:
    radio = VirtualRadio()
    peripheral = RadioPeripheral(radio.link)
    port = await peripheral.listen()
    script = tmp_path / "secure.py"
    script.write_text(PROGRAM)
    env = dict(os.environ, SACRUM_RADIO_PORT=str(port),
               MICROPYPATH=str(resources.firmware_dir() / "sim" / "unix_bluetooth"))
    proc = await asyncio.create_subprocess_exec(
        micropython_binary(), str(script), "store" if store else "refuse", env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
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
    if store:  # again, as a bonded central does: new link, encrypted with the stored keys
        await conn.disconnect()
        await asyncio.sleep(0.2)
        conn = await central.connect(peripheral.device.random_address)
        await conn.encrypt()
        await asyncio.sleep(0.1)
        seen["reconnect_encrypted"] = conn.is_encrypted
        peer = Peer(conn)
        await peer.discover_services()
        svc = next(s for s in peer.services if str(s.uuid).lower() == SVC)
        await svc.discover_characteristics()
        await svc.characteristics[0].write_value(b"again", with_response=True)
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


@pytest.fixture(scope="module")
def refused(tmp_path_factory):
    return asyncio.run(_session(tmp_path_factory.mktemp("refuse"), store=False))


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


def test_the_keys_go_to_the_program_and_a_reconnect_encrypts_with_them(seen):
    assert ["set", 2, True] in seen["events"]  # _IRQ_SET_SECRET, one record per peer
    assert ["get", 2] in seen["events"]  # asked back when the central encrypted again
    assert seen["reconnect_encrypted"]
    updates = [e for e in seen["events"] if e[0] == "encryption"]
    assert updates[-1][2] is True and updates[-1][4] is True  # bonded on the new link
    assert ["write", "again"] in seen["events"]


def test_keys_the_program_does_not_store_make_no_bond(refused):
    assert ["set", 2, True] in refused["events"]
    updates = [e for e in refused["events"] if e[0] == "encryption"]
    assert updates and updates[-1][2] is True and updates[-1][4] is False  # encrypted only

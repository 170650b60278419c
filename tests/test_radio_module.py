"""MicroPython's ``bluetooth`` semantics, as the unix-port module reproduces them on Bumble.

A small MicroPython program (below, not the firmware) uses the module the way
MicroPython documents it while a Bumble central on the same virtual link connects,
writes and disconnects; the program reports what it saw on stdout. Each check is a
documented behaviour of the real module (docs/library/bluetooth.rst, extmod/
modbluetooth.c, the NimBLE binding) that a friendlier fake would get wrong.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from bumble.device import Peer

from sacrum import resources
from sacrum.io.transports.bumble_backend import VirtualRadio
from sacrum.testing.radio import RadioPeripheral
from sacrum.testing.radio.firmware import micropython_binary

# paced in wall-clock time (a real-time link or pacing): run alone, not beside another worker
pytestmark = pytest.mark.realtime

A = "5ac1aaaa-5e1d-4b6e-a1c3-7f0e2d9c4b10"
B = "5ac1bbbb-5e1d-4b6e-a1c3-7f0e2d9c4b10"
C = "5ac1cccc-5e1d-4b6e-a1c3-7f0e2d9c4b10"
SVC = "5ac19999-5e1d-4b6e-a1c3-7f0e2d9c4b10"

PROGRAM = """
import json, sys, time, select
import bluetooth

ble = bluetooth.BLE()
out = {}
try:
    ble.gap_advertise(100000, b"\\x02\\x01\\x06")
except OSError as e:
    out["before_active"] = e.errno
ble.active(True)
events = []
state = {"conn": None, "gone": 0}

def irq(event, data):
    if event == 1:
        state["conn"] = data[0]
        events.append(["connect", data[0], data[1], type(data[2]).__name__, len(data[2])])
    elif event == 2:
        state["gone"] += 1
        events.append(["disconnect", data[0]])
    elif event == 3:
        value = ble.gatts_read(data[1])
        events.append(["write", data[1], len(value)])
        if value == b"raise":
            raise ValueError("boom")
    elif event == 21:
        events.append(["mtu", data[1]])

ble.irq(irq)
out["mtu_default"] = ble.config("mtu")
ble.config(mtu=185)
out["mtu_set"] = ble.config("mtu")
U = bluetooth.UUID
services = ((U("SVC"), ((U("A"), 0x0008), (U("B"), 0x0008), (U("C"), 0x0012))),
            (U(0x180F), ((U(0x2A19), 0x0002),)))
((ha, hb, hc), (hd,)) = ble.gatts_register_services(services)
ble.gatts_set_buffer(hb, 64, True)
ble.gatts_write(hc, b"hello")
try:
    ble.gap_advertise(100000, adv_data=b"\\x02\\x01\\x06" + bytes(30))
except OSError as e:
    out["adv_too_long"] = e.errno
ble.gap_advertise(100000, adv_data=b"\\x02\\x01\\x06\\x09\\x09radiotst")
print("handles " + json.dumps([ha, hb, hc, hd]))
poll = select.poll()
poll.register(sys.stdin, select.POLLIN)

def command():
    while not poll.poll(0):
        time.sleep_ms(5)
    return sys.stdin.readline().strip()

while True:
    cmd = command()
    if cmd == "burst":
        counts = {"ok": 0}
        for i in range(300):
            try:
                ble.gatts_notify(state["conn"], hc, bytes(200))
                counts["ok"] += 1
            except OSError as e:
                counts[str(e.errno)] = counts.get(str(e.errno), 0) + 1
        time.sleep_ms(300)
        ble.gatts_notify(state["conn"], hc, b"after")
        print("burst " + json.dumps(counts))
    elif cmd == "spin":
        conn = state["conn"]
        print("spinning")
        n = 0
        while state["gone"] == 0:  # no call into the module: only a preempting IRQ ends it
            n += 1
        try:
            ble.gatts_notify(conn, hc, b"late")
            out["late_notify"] = 0
        except OSError as e:
            out["late_notify"] = e.errno
        ble.gap_advertise(100000)  # None data: the previous payloads again
        print("spun " + json.dumps(n > 0))
    elif cmd == "end":
        out["events"] = events
        print("result " + json.dumps(out))
        break
""".replace('"SVC"', repr(SVC)).replace('"A"', repr(A)).replace('"B"', repr(B)).replace(
    '"C"', repr(C))


LINES: list[str] = []


async def _line(proc, prefix: str, timeout_s: float = 10.0) -> str:
    async def read():
        while True:
            line = (await proc.stdout.readline()).decode()
            LINES.append(line)
            if not line:
                raise AssertionError(f"the program ended before {prefix!r}")
            if line.startswith(prefix):
                return line[len(prefix):].strip()

    return await asyncio.wait_for(read(), timeout_s)


async def _session(tmp_path):
    radio = VirtualRadio()
    peripheral = RadioPeripheral(radio.link, tx_buffers=24)
    port = await peripheral.listen()
    script = tmp_path / "program.py"
    script.write_text(PROGRAM)
    fw = resources.firmware_dir()
    env = dict(os.environ, SACRUM_RADIO_PORT=str(port),
               MICROPYPATH=str(fw / "sim" / "unix_bluetooth"))
    proc = await asyncio.create_subprocess_exec(
        micropython_binary(), str(script), env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    handles = json.loads(await _line(proc, "handles "))
    central = await radio.central()
    conn = await central.connect(peripheral.device.random_address)
    peer = Peer(conn)
    await peer.request_mtu(247)
    await peer.discover_services()
    chars = {}
    for svc in peer.services:
        await svc.discover_characteristics()
        for ch in svc.characteristics:
            chars[ch.handle] = ch
    result: dict = {"handles": handles, "chars": chars, "peripheral": peripheral}

    async def send(cmd: str) -> None:
        proc.stdin.write(cmd.encode() + b"\n")
        await proc.stdin.drain()

    # writes: 30 bytes into the default 20-byte buffer, 30 twice into the 64-byte one
    ha, hb, hc, hd = handles
    await chars[ha].write_value(bytes(range(30)), with_response=True)
    await chars[hb].write_value(bytes(30), with_response=True)
    await chars[hb].write_value(bytes(30), with_response=True)
    result["read_c"] = await chars[hc].read_value()
    try:
        await chars[hd].write_value(b"\x01", with_response=True)
    except Exception as e:  # not writable: the stack refuses with an ATT error
        result["write_d"] = type(e).__name__
    await send("burst")
    result["burst"] = json.loads(await _line(proc, "burst "))
    await send("spin")
    await _line(proc, "spinning")
    await asyncio.sleep(0.2)
    await conn.disconnect()
    result["spun"] = json.loads(await _line(proc, "spun "))
    # advertising again with the same payloads: connect, make the handler raise
    conn = await central.connect(peripheral.device.random_address)
    peer = Peer(conn)
    await peer.discover_services()
    svc = next(s for s in peer.services if str(s.uuid).lower() == SVC)
    await svc.discover_characteristics()
    char_a = next(c for c in svc.characteristics if c.handle == ha)
    await char_a.write_value(b"raise", with_response=True)  # the handler raises
    await char_a.write_value(b"after", with_response=True)  # handler gone: no event
    await conn.disconnect()  # nor for this
    await asyncio.sleep(0.2)
    await send("end")
    result["out"] = json.loads(await _line(proc, "result "))
    rest = (await proc.stdout.read()).decode()
    result["returncode"] = await proc.wait()
    result["stdout_rest"] = rest
    result["lines"] = list(LINES)
    await peripheral.close()
    return result


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    return asyncio.run(_session(tmp_path_factory.mktemp("radio")))


def test_handles_come_in_registration_order_as_bumble_gave_them(seen):
    ha, hb, hc, hd = seen["handles"]
    assert ha < hb < hc < hd
    assert {ha, hb, hc, hd} <= set(seen["chars"])  # the central finds them at those handles
    assert seen["read_c"] == b"hello"  # gatts_write's value is what a central reads


def test_writes_are_truncated_to_the_buffer_and_arrive_as_irq_events(seen):
    ha, hb, _, _ = seen["handles"]
    writes = [e for e in seen["out"]["events"] if e[0] == "write"]
    assert writes[0] == ["write", ha, 20]  # 30 bytes into the default 20-byte buffer
    assert writes[1:3] == [["write", hb, 30], ["write", hb, 30]]  # 64 bytes, append mode
    assert seen["write_d"] == "ATT_Error"  # a read-only characteristic refuses writes


def test_a_handler_that_raises_is_disabled_for_good(seen):
    ha = seen["handles"][0]
    events = seen["out"]["events"]
    writes = [e for e in events if e[0] == "write"]
    assert writes[-1] == ["write", ha, 5]  # the "raise" write; "after" never reached it
    assert [e[0] for e in events].count("disconnect") == 1  # nor did the second disconnect
    assert "Unhandled exception in IRQ callback handler" in seen["stdout_rest"] + "".join(
        seen["lines"])


def test_connect_and_mtu_events_carry_micropythons_tuples(seen):
    events = seen["out"]["events"]
    connect = next(e for e in events if e[0] == "connect")
    assert connect[2] == 1 and connect[3] == "memoryview" and connect[4] == 6
    assert ["mtu", 185] in events  # the smaller of the central's 247 and config(mtu=185)
    assert seen["out"]["mtu_default"] == 256 and seen["out"]["mtu_set"] == 185


def test_advertising_and_calls_before_active_fail_as_documented(seen):
    assert seen["out"]["before_active"] == 19  # ENODEV: the radio is not active
    assert seen["out"]["adv_too_long"] == 22  # EINVAL: 33 bytes of legacy advertising


def test_notifications_outrunning_the_controller_get_enomem_then_flow_again(seen):
    burst = seen["burst"]
    assert burst["ok"] > 0 and burst.get("12", 0) > 0  # ENOMEM once the buffers are full
    assert burst["ok"] + burst["12"] == 300
    # sent though the central never subscribed (MicroPython notifies regardless)
    assert seen["peripheral"].stats.notifications >= burst["ok"] + 1


def test_an_irq_preempts_a_loop_that_never_calls_the_module(seen):
    assert seen["spun"] is True  # the disconnect ended a pure-bytecode busy loop
    # the stack knew the link was gone: a notify on the old handle is refused
    assert seen["out"]["late_notify"] == 107  # ENOTCONN

# Firmware security under MicroPython: the bond store (secret IRQs), the pairing window
# and the BOOT button, persistence across a "reboot" (a new store from the same file),
# and BleLink's gate (NOT_BONDED for an untrusted link, no DATA, the control flags).
# Run by tests/test_firmware_security.py; prints "N passed, M failed", exits 1 on failure.
import os

import harness
import security as sec
from ble import BleLink

import sacrum_protocol as sp

TMP = os.getenv("SACRUM_TMP") or "/tmp"
PEER = 2


def check(cond, what="check failed"):
    if not cond:
        raise AssertionError(what)


def path(name):
    p = TMP + "/" + name
    for q in (p, p + ".tmp"):
        try:
            os.remove(q)
        except OSError:
            pass
    return p


def opened(store, now_ms=0):
    """A store with the pairing window opened by holding BOOT 3 s from now_ms."""
    store.button(True, now_ms)
    store.button(True, now_ms + sec.PAIR_HOLD_MS)
    store.button(False, now_ms + sec.PAIR_HOLD_MS + 10)
    return store


def test_a_new_key_outside_the_window_is_refused_and_counted():
    s = sec.Security(path("b1.json"))
    check(s.set_secret(PEER, b"peer-a", b"keys") is False)
    check(s.get_secret(PEER, 0, None) is None and s.refused_pairings == 1)


def test_holding_boot_3_s_opens_the_window_for_one_bond():
    s = sec.Security(path("b2.json"))
    s.button(True, 0)
    s.button(True, sec.PAIR_HOLD_MS - 10)
    check(not s.window_open(), "opened before 3 s")
    s.button(True, sec.PAIR_HOLD_MS)
    check(s.window_open(), "not open after 3 s")
    check(s.set_secret(PEER, memoryview(b"peer-a"), memoryview(b"keys-a")) is True)
    check(not s.window_open(), "the window stays open after a bond")
    check(s.set_secret(PEER, b"peer-b", b"keys-b") is False)
    check(s.get_secret(PEER, 0, b"peer-a") == b"keys-a")


def test_the_window_closes_after_its_time():
    s = opened(sec.Security(path("b3.json")))
    s.now_ms = sec.PAIR_HOLD_MS + sec.PAIR_WINDOW_MS + 20
    check(s.set_secret(PEER, b"late", b"k") is False)


def test_a_bonded_peer_updates_its_keys_and_delete_works_outside_the_window():
    s = opened(sec.Security(path("b4.json")))
    s.set_secret(PEER, b"peer-a", b"v1")
    check(s.set_secret(PEER, b"peer-a", b"v2") is True)
    check(s.get_secret(PEER, 0, b"peer-a") == b"v2")
    check(s.set_secret(PEER, b"peer-a", None) is True)
    check(s.get_secret(PEER, 0, b"peer-a") is None)


def test_get_by_index_walks_the_values_of_one_type():
    s = sec.Security(path("b5.json"))
    for k in (b"a", b"b"):
        opened(s, s.now_ms + 100)
        s.set_secret(PEER, k, b"v" + k)
    opened(s, s.now_ms + 100)
    s.set_secret(1, b"c", b"other type")
    check([s.get_secret(PEER, i, None) for i in range(3)] == [b"va", b"vb", None])


def test_bonds_survive_a_reboot_through_the_file():
    p = path("b6.json")
    s = opened(sec.Security(p))
    s.set_secret(PEER, b"\x00\xff peer", b"\x01\x02keys")
    s.save()
    check(not s.dirty)
    os.stat(p)
    try:
        os.stat(p + ".tmp")
        check(False, "the temporary file stayed")
    except OSError:
        pass
    again = sec.Security(p)
    check(again.get_secret(PEER, 0, b"\x00\xff peer") == b"\x01\x02keys")


def test_a_corrupt_bond_file_gives_no_bonds_not_a_crash():
    p = path("b7.json")
    with open(p, "w") as f:
        f.write("[[2, \"zz\"")
    check(not sec.Security(p).has_bonds())


def test_holding_boot_10_s_forgets_every_bond():
    p = path("b8.json")
    s = opened(sec.Security(p))
    s.set_secret(PEER, b"peer-a", b"k")
    s.save()
    s.button(True, 10000)
    check(s.button(True, 10000 + sec.FORGET_HOLD_MS - 10) is None)
    check(s.button(True, 10000 + sec.FORGET_HOLD_MS) == "forgot")
    check(not s.window_open(), "forgetting left the window open")
    s.save()
    check(not sec.Security(p).has_bonds())


class Ble:
    """The few bluetooth.BLE calls BleLink makes, recorded."""

    def __init__(self):
        self.configs = {}
        self.services = None
        self.handler = None
        self.notified = []

    def active(self, on=None):
        return True

    def config(self, **kw):
        self.configs.update(kw)

    def irq(self, handler):
        self.handler = handler

    def gatts_register_services(self, services):
        self.services = services
        return ((1, 2, 3), (4, 5, 6), (7,))

    def gatts_set_buffer(self, *a):
        pass

    def gatts_write(self, *a):
        pass

    def gatts_read(self, handle):
        return self.value

    def gap_advertise(self, *a, **kw):
        pass

    def gattc_exchange_mtu(self, conn):
        pass

    def gatts_notify(self, conn, handle, value):
        self.notified.append((handle, bytes(value)))

    def write(self, conn, value):
        self.value = value
        self.handler(3, (conn, 2))


def _link(store):
    ble = Ble()
    link = BleLink(ble, "s", uuid=lambda u: u, security=store)
    ble.handler(1, (0, 0, memoryview(bytes(6))))
    return ble, link


def test_the_link_asks_for_secure_connections_bonding_and_an_encrypted_control():
    ble, _ = _link(sec.Security(path("b9.json")))
    check(ble.configs.get("bond") is True and ble.configs.get("le_secure") is True)
    check(ble.configs.get("io") == 3)
    control = ble.services[0][1][1][1]
    check(control & 0x1000, "control characteristic is not _FLAG_WRITE_ENCRYPTED")


def test_an_untrusted_link_gets_not_bonded_and_no_data():
    store = sec.Security(path("b10.json"))
    ble, link = _link(store)
    ble.write(0, sp.encode_command(7, sp.OP_START_STREAM))
    check(link.poll() == [], "the command reached the device")
    check(store.refused_commands == 1)
    _, token, op, result, _ = sp.decode_response(ble.notified[-1][1])
    check((token, op, result) == (7, sp.OP_START_STREAM, sp.RESULT_NOT_BONDED))
    check(link.send_data(b"\x01" * 30) is False)
    ble.handler(28, (0, True, False, False, 16))  # encrypted, not bonded
    ble.write(0, sp.encode_command(8, sp.OP_GET_STATUS))
    check(link.poll() == [] and store.refused_commands == 2)


def test_a_bonded_encrypted_link_commands_and_gets_data():
    store = sec.Security(path("b11.json"))
    ble, link = _link(store)
    ble.handler(28, (0, True, False, True, 16))
    ble.write(0, sp.encode_command(9, sp.OP_START_STREAM))
    check(len(link.poll()) == 1 and store.refused_commands == 0)
    check(link.send_data(b"\x01" * 10) is True)
    ble.handler(2, (0, 0, memoryview(bytes(6))))
    ble.handler(1, (1, 0, memoryview(bytes(6))))
    check(not link.trusted, "trust carried over to the next connection")


def test_the_handler_answers_the_secret_irqs_from_the_store():
    store = opened(sec.Security(path("b12.json")))
    ble, _ = _link(store)
    check(ble.handler(30, (PEER, memoryview(b"k"), memoryview(b"v"))) is True)
    check(ble.handler(29, (PEER, 0, memoryview(b"k"))) == b"v")
    check(ble.handler(29, (PEER, 0, None)) == b"v")
    check(ble.handler(29, (PEER, 1, None)) is None)


harness.run(globals())

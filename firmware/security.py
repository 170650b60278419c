"""Bonds, the pairing window, and who may command the sensor (issue 15 item 3).

The board has a BOOT button and an LED, no display, so pairing is LE Secure
Connections "Just Works" (io 3: no input, no output) and what stops a
stranger from bonding is the owner's hand on the button: new bonds are stored
only inside a pairing window, opened by holding BOOT for 3 s (the LED blinks
"pairing" while it is open, 60 s or until a bond is stored). Holding BOOT for
10 s forgets every bond, as does the SECURITY command from a bonded host.

Keys live in the firmware's own store: MicroPython's stack asks the BLE IRQ
handler for them (``_IRQ_GET_SECRET`` ``(sec_type, index, key)``, return the
value or None) and hands new ones to it (``_IRQ_SET_SECRET`` ``(sec_type,
key, value)``, return True when stored; value None deletes), as
docs/library/bluetooth.rst documents and micropython-lib's
aioble/security.py implements. A set outside the pairing window for a key not
yet stored returns False: the peer paired but holds no bond here, and its
commands are refused. The store is a JSON list of ``[sec_type, key hex, value
hex]`` (aioble's layout), written temp-then-rename by ``save()``, which the
main loop calls after the sample path (never from the IRQ: flash writes stall
the CPU), so bonds survive a reboot.
"""

import binascii
import json
import os

from micropython import const

PAIR_HOLD_MS = const(3000)  # hold BOOT this long: the pairing window opens
FORGET_HOLD_MS = const(10000)  # this long: every bond is forgotten
PAIR_WINDOW_MS = const(60000)  # the window closes after this, or when a bond is stored
_MAX_SECRETS = const(32)  # a full store refuses new keys (NimBLE's store has a limit too)


class Security:
    """Bond store and pairing window. ``enabled``: commands and data need a bonded,
    encrypted link (the default for a new device; the SECURITY command switches it)."""

    def __init__(self, path="bonds.json", enabled=True):
        self.path = path
        self.enabled = enabled
        self.secrets = []  # [sec_type, key bytes, value bytes], oldest first
        self.now_ms = 0  # set by the main loop each step (the IRQ has no clock)
        self.window_until_ms = -1
        self.refused_pairings = 0  # keys offered outside the window (not stored)
        self.refused_commands = 0  # commands from a link that is not bonded and encrypted
        self.bonds_stored = 0
        self.dirty = False
        self._held_since = -1
        self._forgot = False
        self._opened = False
        self.load()

    # -- persistence ----------------------------------------------------------------
    def load(self):
        try:
            with open(self.path) as f:
                stored = json.load(f)
        except (OSError, ValueError):
            return  # no bonds (or a corrupt file): pair again; never a boot loop
        if not isinstance(stored, list):
            return
        for e in stored:
            try:
                self.secrets.append([int(e[0]), binascii.unhexlify(e[1]),
                                     binascii.unhexlify(e[2])])
            except (ValueError, TypeError, IndexError):
                pass
        del self.secrets[_MAX_SECRETS:]

    def save(self):
        """Temp file, then rename over the old one (atomic on LittleFS); only if changed."""
        if not self.dirty:
            return
        # cleared first: a key the IRQ stores while this writes marks the store dirty again
        self.dirty = False
        rows = [[t, binascii.hexlify(k).decode(), binascii.hexlify(v).decode()]
                for t, k, v in list(self.secrets)]
        tmp = self.path + ".tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(rows, f)
            try:
                os.rename(tmp, self.path)
            except OSError:  # FAT does not rename over an existing file
                os.remove(self.path)
                os.rename(tmp, self.path)
        except OSError:
            self.dirty = True  # tried again at the next step
            raise

    # -- the stack's secret IRQs -----------------------------------------------------
    def get_secret(self, sec_type, index, key):
        """``_IRQ_GET_SECRET``: the value for ``key``, or (key None) the index-th of the type."""
        if key is None:
            i = 0
            for t, _, v in self.secrets:
                if t == sec_type:
                    if i == index:
                        return v
                    i += 1
            return None
        key = bytes(key)
        for t, k, v in self.secrets:
            if t == sec_type and k == key:
                return v
        return None

    def set_secret(self, sec_type, key, value):
        """``_IRQ_SET_SECRET``: True when stored (or deleted). A new key only in the window."""
        key = bytes(key)
        for i, e in enumerate(self.secrets):
            if e[0] == sec_type and e[1] == key:
                if value is None:
                    self.secrets.pop(i)
                else:
                    e[2] = bytes(value)  # a bonded peer's keys refreshed
                self.dirty = True
                return True
        if value is None:
            return True
        if not self.window_open() or len(self.secrets) >= _MAX_SECRETS:
            self.refused_pairings += 1
            return False
        self.secrets.append([sec_type, key, bytes(value)])
        self.bonds_stored += 1
        self.window_until_ms = -1  # one bond per window
        self.dirty = True
        return True

    def has_bonds(self):
        return bool(self.secrets)

    def forget(self):
        """Every bond gone (the store written at the next save)."""
        self.secrets = []
        self.dirty = True

    # -- the pairing window and the BOOT button ------------------------------------------
    def window_open(self):
        return self.now_ms < self.window_until_ms

    def open_window(self):
        self.window_until_ms = self.now_ms + PAIR_WINDOW_MS

    def button(self, pressed, now_ms):
        """BOOT's state this step: held 3 s opens the window, 10 s forgets the bonds.
        Returns "forgot" the step the bonds were forgotten, else None."""
        self.now_ms = now_ms
        if not pressed:
            self._held_since = -1
            self._forgot = False
            self._opened = False
            return None
        if self._held_since < 0:
            self._held_since = now_ms
            return None
        held = now_ms - self._held_since
        if held >= FORGET_HOLD_MS and not self._forgot:
            self._forgot = True
            self.forget()
            self.window_until_ms = -1
            return "forgot"
        if PAIR_HOLD_MS <= held < FORGET_HOLD_MS and not self._opened:
            self._opened = True  # once per press
            self.open_window()
        return None

"""Persistent settings: JSON on flash, written atomically, never a boot loop.

A missing, unreadable or corrupt file gives the defaults (and ``reset_reason``
says why, for the status record's fault code); unknown keys are dropped and
values out of range replaced, so no stored value can stop the device booting.
"""

import json
import os

DEFAULTS = {
    "name": "sacrum",
    "rate_hz": 100,
    "link": 0,  # 0 BLE, 1 USB serial
    "mount": [16384, 0, 0, 0],  # q_sensor_to_body, Q14
    "gyro_bias_mradps": [0, 0, 0],
    "board": "esp32-devkitc",
    "security": 1,  # 1: commands and data need a bonded, encrypted link (security.py)
}
_RATES = (50, 100, 200)


def _valid(key, value):
    if key == "name":
        return isinstance(value, str) and 0 < len(value.encode()) <= 20
    if key == "rate_hz":
        return value in _RATES
    if key in ("link", "security"):
        return value in (0, 1)
    if key in ("mount", "gyro_bias_mradps"):
        n = 4 if key == "mount" else 3
        return (isinstance(value, list) and len(value) == n
                and all(isinstance(v, int) and -32768 <= v <= 32767 for v in value))
    if key == "board":
        return isinstance(value, str) and len(value) <= 32
    return False


class Config:
    def __init__(self, path="sacrum.json"):
        self.path = path
        self.values = dict(DEFAULTS)
        self.reset_reason = None  # None, or why the defaults were used
        self.load()

    def load(self):
        try:
            with open(self.path) as f:
                stored = json.load(f)
        except OSError:
            self.reset_reason = "missing"
            return
        except ValueError:
            self.reset_reason = "corrupt"
            return
        if not isinstance(stored, dict):
            self.reset_reason = "corrupt"
            return
        bad = 0
        for key in DEFAULTS:
            if key in stored:
                if _valid(key, stored[key]):
                    self.values[key] = stored[key]
                else:
                    bad += 1
        if bad:
            self.reset_reason = "invalid"

    def __getitem__(self, key):
        return self.values[key]

    def set(self, key, value):
        if not _valid(key, value):
            raise ValueError("invalid value for " + key)
        self.values[key] = value

    def save(self):
        """Write to a temporary file and rename it over the old one (atomic on LittleFS)."""
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.values, f)
        try:
            os.rename(tmp, self.path)  # replaces the old file atomically on LittleFS
        except OSError:  # FAT does not rename over an existing file
            os.remove(self.path)
            os.rename(tmp, self.path)

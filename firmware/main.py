"""Board entry point: build the parts from config and pins, run the loop.

A crash is logged to ``crash.log`` and the board reboots after a back-off;
after three crashes within a minute of boot the device stays in the REPL
(safe mode) so it can be reflashed, instead of boot-looping. This crash guard
lives here, not in boot.py.

At boot: the CPU clock goes to 240 MHz where the chip allows it (stock
ESP32_GENERIC builds start at 160 MHz); the reset cause becomes the status
record's fault code when it was the watchdog or the supply; a
``machine.WDT`` (``_WDT_MS``) is started and fed by every main-loop step, so
a hung loop reboots. The serial link's REPL escape (seriallink.py) writes
``_REPL_FILE`` and reboots: the next boot stays in the REPL, watchdog off
(an ESP32 watchdog cannot be stopped once started).
"""

import json
import sys
import time

import machine

_CRASH_FILE = "crash.count"
_REPL_FILE = "repl.once"
_WDT_MS = 5000  # > the longest healthy step (a flash write, a BLE reconnect)
_CPU_HZ = 240_000_000


def _crashes():
    try:
        with open(_CRASH_FILE) as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def _set_crashes(n):
    try:
        with open(_CRASH_FILE, "w") as f:
            f.write(str(n))
    except OSError:
        pass


def _pins(board):
    try:
        with open("pins.json") as f:
            return json.load(f)[board]
    except (OSError, ValueError, KeyError):
        return {"sda": 21, "scl": 22, "battery_adc": 34, "led": 2, "led_active_low": False,
                "battery_divider_ratio": 2.0}


def _serial_io():
    import select

    import micropython

    micropython.kbd_intr(-1)  # binary frames may contain 0x03
    poller = select.poll()
    poller.register(sys.stdin, select.POLLIN)
    out = sys.stdout.buffer
    inp = sys.stdin.buffer

    def read():
        data = b""
        while poller.poll(0) and len(data) < 256:
            data += inp.read(1)
        return data

    return out.write, read


def _boot_fault():
    """Fault code from the reset cause: a watchdog reset is reported. (A
    brown-out reset of the ESP32 itself cannot be told apart: the esp32 port's
    machine.reset_cause() maps ESP_RST_BROWNOUT to PWRON_RESET.)"""
    import sacrum_protocol as sp

    try:
        cause = machine.reset_cause()
    except (AttributeError, OSError):
        return sp.FAULT_NONE
    return sp.FAULT_WATCHDOG if cause == getattr(machine, "WDT_RESET", -1) else sp.FAULT_NONE


def _make_i2c(pins):
    return machine.I2C(0, sda=machine.Pin(pins["sda"]), scl=machine.Pin(pins["scl"]),
                       freq=400_000, timeout=10_000)


def start():
    import app
    import battery
    import led
    from config import Config
    from i2cbus import BusRecovery

    try:
        machine.freq(_CPU_HZ)
    except (ValueError, OSError):
        pass  # a chip without 240 MHz keeps its clock
    boot_fault = _boot_fault()
    cfg = Config()
    pins = _pins(cfg["board"])
    i2c = _make_i2c(pins)
    recovery = BusRecovery(machine.Pin(pins["scl"]), machine.Pin(pins["sda"]),
                           lambda: _make_i2c(pins), machine.Pin.OPEN_DRAIN, machine.Pin.IN)
    try:
        adc = machine.ADC(machine.Pin(pins["battery_adc"]))
        adc.atten(machine.ADC.ATTN_11DB)
    except (ValueError, OSError):
        adc = None
    from security import Security

    security = Security("bonds.json", enabled=cfg["security"] == 1)
    boot_pin = machine.Pin(0, machine.Pin.IN, machine.Pin.PULL_UP)  # BOOT: low while held
    if cfg["link"] == 1:
        from seriallink import SerialLink

        write, read = _serial_io()
        link = SerialLink(write, read)
    else:
        import bluetooth
        from ble import BleLink

        link = BleLink(bluetooth.BLE(), cfg["name"], firmware="%d.%d.%d" % app.FW_VERSION,
                       security=security)

    def log(message):
        with open("error.log", "a") as f:
            f.write("%d %s\n" % (time.time(), message))

    wdt = machine.WDT(timeout=_WDT_MS)
    device = app.Device(
        i2c, link, time, cfg, battery=battery.Battery(adc, pins["battery_divider_ratio"]),
        led=led.Led(machine.Pin(pins["led"], machine.Pin.OUT), pins["led_active_low"]),
        reset=machine.reset, log=log, wdt=wdt, recovery=recovery, boot_fault=boot_fault,
        security=security, button=lambda: boot_pin.value() == 0,
    )
    app.run(device, time, on_stable=lambda: _set_crashes(0))
    # the serial link's REPL escape: reboot once into the REPL, watchdog off
    with open(_REPL_FILE, "w") as f:
        f.write("1")
    machine.reset()


def _repl_requested():
    try:
        import os

        os.remove(_REPL_FILE)
        return True
    except OSError:
        return False


def _boot_button_held():
    """BOOT (GPIO0) held at power-up: stay in the REPL, e.g. to reflash a board
    whose USB-serial link has the REPL's Ctrl-C disabled."""
    try:
        return machine.Pin(0, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0
    except (ValueError, OSError):
        return False


if _boot_button_held():
    print("sacrum: BOOT held, safe mode (REPL)")
elif _repl_requested():
    print("sacrum: REPL (asked for over the serial link); reset to run again")
elif _crashes() >= 3:
    print("sacrum: safe mode after 3 crashes; delete", _CRASH_FILE, "to run again")
else:
    try:
        start()
    except Exception as e:
        _set_crashes(_crashes() + 1)
        with open("crash.log", "a") as f:
            sys.print_exception(e, f)
        time.sleep(2)
        machine.reset()

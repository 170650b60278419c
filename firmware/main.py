"""Board entry point: build the parts from config and pins, run the loop.

A crash is logged to ``crash.log`` and the board reboots after a back-off;
after three crashes within a minute of boot the device stays in the REPL
(safe mode) so it can be reflashed, instead of boot-looping.
"""

import json
import sys
import time

import machine

_CRASH_FILE = "crash.count"


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


def start():
    import app
    import battery
    import led
    from config import Config

    cfg = Config()
    pins = _pins(cfg["board"])
    i2c = machine.I2C(0, sda=machine.Pin(pins["sda"]), scl=machine.Pin(pins["scl"]), freq=400_000)
    try:
        adc = machine.ADC(machine.Pin(pins["battery_adc"]))
        adc.atten(machine.ADC.ATTN_11DB)
    except (ValueError, OSError):
        adc = None
    if cfg["link"] == 1:
        from seriallink import SerialLink

        write, read = _serial_io()
        link = SerialLink(write, read)
    else:
        import bluetooth
        from ble import BleLink

        link = BleLink(bluetooth.BLE(), cfg["name"], firmware="%d.%d.%d" % app.FW_VERSION)

    def log(message):
        with open("error.log", "a") as f:
            f.write("%d %s\n" % (time.time(), message))

    device = app.Device(
        i2c, link, time, cfg, battery=battery.Battery(adc, pins["battery_divider_ratio"]),
        led=led.Led(machine.Pin(pins["led"], machine.Pin.OUT), pins["led_active_low"]),
        reset=machine.reset, log=log,
    )
    app.run(device, time, on_stable=lambda: _set_crashes(0))


def _boot_button_held():
    """BOOT (GPIO0) held at power-up: stay in the REPL, e.g. to reflash a board
    whose USB-serial link has the REPL's Ctrl-C disabled."""
    try:
        return machine.Pin(0, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0
    except (ValueError, OSError):
        return False


if _boot_button_held():
    print("sacrum: BOOT held, safe mode (REPL)")
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

"""I2C bus recovery: free a bus whose SDA line a slave holds low.

A slave that lost a clock edge in the middle of a byte (a glitch, a brown-out
of the master, a reset of the ESP32 during a transfer) keeps driving SDA low
while it waits for the rest of its byte; the master sees a busy bus and every
transaction times out. The standard cure (NXP UM10204 rev 7, I2C-bus
specification, section 3.1.16 "Bus clear") is to clock SCL up to nine times
until the slave lets SDA go, then send a STOP condition.

``BusRecovery(scl, sda, make_bus)`` works on ``machine.Pin``-like objects
(``init(mode)``, ``value([v])``) and a callable that builds a fresh
``machine.I2C`` on the same pins afterwards (the ESP32's I2C peripheral
must be re-initialised once its pins were used as GPIO). ``recover()``
returns the new bus, or None when SDA is still low after the pulses (the
caller retries later; nothing here blocks for more than ~0.2 ms).
"""

try:
    import time

    _sleep_us = time.sleep_us
except (ImportError, AttributeError):  # CPython
    def _sleep_us(us):
        pass

_PULSES = 9  # one byte plus the acknowledge bit
_HALF_PERIOD_US = 5  # 100 kHz: the slowest standard-mode clock every slave follows


class BusRecovery:
    def __init__(self, scl, sda, make_bus, open_drain=None, pin_in=None):
        self.scl = scl
        self.sda = sda
        self.make_bus = make_bus
        self._od = open_drain
        self._in = pin_in
        self.recoveries = 0  # times the bus was re-created
        self.pulses = 0  # SCL pulses sent, cumulative

    def _as_gpio(self):
        if self._od is not None:
            self.scl.init(self._od, value=1)
            self.sda.init(self._in)

    def recover(self):
        """Clock SCL until SDA is released, send STOP, rebuild the bus (or None)."""
        scl, sda = self.scl, self.sda
        self._as_gpio()
        for _ in range(_PULSES):
            if sda.value():
                break
            scl.value(0)
            _sleep_us(_HALF_PERIOD_US)
            scl.value(1)
            _sleep_us(_HALF_PERIOD_US)
            self.pulses += 1
        if not sda.value():
            return None
        # STOP: SDA low -> high while SCL is high
        if self._od is not None:
            sda.init(self._od, value=0)
        else:
            sda.value(0)
        _sleep_us(_HALF_PERIOD_US)
        scl.value(1)
        _sleep_us(_HALF_PERIOD_US)
        sda.value(1)
        _sleep_us(_HALF_PERIOD_US)
        self.recoveries += 1
        return self.make_bus()

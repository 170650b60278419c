"""Battery voltage from an ADC divider, and a charge estimate for a 1S LiPo."""

_LOW_PCT = 15
_NO_BATTERY_MV = 2500  # below this the divider reads no cell (USB power, switch off)
# Resting voltage (mV) -> charge (%) of a 1S LiPo, a common approximation.
_CURVE = ((3300, 0), (3500, 5), (3600, 10), (3700, 30), (3750, 45), (3800, 55),
          (3900, 70), (4000, 82), (4100, 92), (4200, 100))


def percent_from_mv(mv):
    if mv <= _CURVE[0][0]:
        return 0
    for (v0, p0), (v1, p1) in zip(_CURVE, _CURVE[1:]):
        if mv <= v1:
            return p0 + (p1 - p0) * (mv - v0) // (v1 - v0)
    return 100


class Battery:
    """``adc`` is a machine.ADC (or a test double with ``read_uv()``).

    divider: battery voltage / ADC pin voltage (2.0 for two equal resistors).
    The reading is smoothed (the radio's current pulses make it jump).
    """

    def __init__(self, adc, divider=2.0):
        self.adc = adc
        self.divider = divider
        self.mv = 0  # 0 = unknown
        self.read()

    def read(self):
        if self.adc is None:
            return 0
        try:
            mv = int(self.adc.read_uv() * self.divider / 1000)
        except OSError:
            return self.mv
        if mv < _NO_BATTERY_MV:
            self.mv = 0  # unknown: not a flat cell
        else:
            self.mv = mv if self.mv == 0 else (3 * self.mv + mv) // 4
        return self.mv

    @property
    def percent(self):
        return 255 if self.mv == 0 else percent_from_mv(self.mv)

    @property
    def low(self):
        return self.mv != 0 and percent_from_mv(self.mv) < _LOW_PCT

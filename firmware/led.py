"""Status LED patterns, stepped from the main loop (no timers, no threads)."""

# (on_ms, off_ms) per state
PATTERNS = {
    "advertising": (100, 1900),
    "connected": (1000, 0),
    "streaming": (50, 950),
    "identify": (100, 100),
    "pairing": (250, 250),  # the pairing window is open (hold BOOT 3 s)
    "fault": (500, 500),
    "off": (0, 1000),
}


class Led:
    def __init__(self, pin, active_low=False):
        self.pin = pin
        self.active_low = active_low
        self.state = "off"
        self.until_ms = 0  # identify ends then
        self._saved = "off"

    def set(self, state):
        if self.state == "identify":
            self._saved = state
        else:
            self.state = state

    def identify(self, now_ms, seconds):
        if self.state != "identify":
            self._saved = self.state
        self.state = "identify"
        self.until_ms = now_ms + 1000 * seconds

    def step(self, now_ms):
        """Drive the pin for time ``now_ms``; returns whether the LED is on."""
        if self.state == "identify" and now_ms >= self.until_ms:
            self.state = self._saved
        on_ms, off_ms = PATTERNS[self.state]
        on = on_ms > 0 and (off_ms == 0 or now_ms % (on_ms + off_ms) < on_ms)
        if self.pin is not None:
            self.pin.value(on != self.active_low)
        return on

"""Device time of every sensor sample, from the sensor's own sample count.

The IMU samples on its own oscillator into its hardware FIFO; MicroPython only
reads the FIFO now and then, and a GC pause may delay a read by tens of ms.
So the time of sample k is not when it was read but

    t(k) = t0 + k * period

with ``period`` the sensor's true sample period -- its oscillator is off by up
to a few %, so it is measured against the ESP32 clock -- and ``t0`` from the
lower envelope of the reads: the newest sample N-1 of a read cannot have been
taken after the read returned it, so ``t0 <= read_time - (N-1) * period``, and
the least-delayed read of a window gives the tightest bound.

Steps, at every read: 1. count the samples; 2. tighten t0 with this read's
bound. At the end of every ``WINDOW_US`` window: 3. measure the period between
the least-delayed reads of this and the previous window; 4. low-pass it into
the estimate (gain 1/4) if within 5 % of nominal; 5. re-base t0 on the
window's least-delayed read with the new period.

Start-up (until the first period measurement, ~8 s) may step the timestamps;
after it they move by at most a quarter of the remaining error per window.

Integer arithmetic throughout: the ESP32's floats are single precision, which
cannot hold µs timestamps beyond 16 s. Periods are in 1/256 µs.
"""

WINDOW_US = 4_000_000
SLEW_US = 200  # most t0 may move per window after the first
_Q = 8  # period fixed point: 1/256 µs
_MAX_ERROR_PCT = 5


class SampleClock:
    def __init__(self, period_us):
        self.reset(period_us)

    def reset(self, period_us):
        self.nominal_q = period_us << _Q
        self.period_q = self.nominal_q
        self.count = 0  # samples since reset, read or skipped
        self.t0_us = None  # device time of sample 0, µs
        self._win_start = None
        self._win_bound = None  # least-delayed read of this window: bound and count
        self._win_n = 0
        self._prev_read = None  # (read time, count) of the previous window's best read
        self._measured = False  # start-up ends with the first period measurement
        self._rephase = 0  # after a sensor restart: 2 = next read sets t0, 1 = tighten

    @property
    def period_us(self):
        return (self.period_q + (1 << (_Q - 1))) >> _Q

    def on_read(self, now_us, new_samples):
        """Account for ``new_samples`` read at device time ``now_us`` (unwrapped µs)."""
        self.count += new_samples
        if new_samples == 0:
            return
        n = self.count
        bound = now_us - (((n - 1) * self.period_q) >> _Q)
        if self.t0_us is None or self._rephase == 2:
            self.t0_us = bound
            self._rephase >>= 1
        elif (not self._measured or self._rephase) and bound < self.t0_us:
            self.t0_us = bound  # start-up (or a restart): tighten at once; later only slew
        if self._win_bound is None or bound < self._win_bound:
            self._win_bound = bound
            self._win_n = n
        if self._win_start is None:
            self._win_start = now_us
        elif now_us - self._win_start >= WINDOW_US:
            self._end_window(now_us)

    def _end_window(self, now_us):
        n = self._win_n
        read_at = self._win_bound + (((n - 1) * self.period_q) >> _Q)
        new_q = self.period_q
        settled = self._measured
        if self._prev_read is not None and n > self._prev_read[1]:
            measured = ((read_at - self._prev_read[0]) << _Q) // (n - self._prev_read[1])
            if abs(measured - self.nominal_q) * 100 <= _MAX_ERROR_PCT * self.nominal_q:
                # the first measurement replaces the nominal period; later ones are filtered
                gain_shift = 2 if settled else 0
                new_q = self.period_q + ((measured - self.period_q) >> gain_shift)
                self._measured = True
        # keep t(count) continuous through the period change, then move t0 towards
        # this window's envelope: at once during start-up, afterwards by at most a
        # quarter of the error (at least SLEW_US), so timestamps do not jump
        count = self.count
        current = self.t0_us + ((count * self.period_q) >> _Q) - ((count * new_q) >> _Q)
        step = read_at - (((n - 1) * new_q) >> _Q) - current
        if settled:
            limit = max(SLEW_US, abs(step) >> 2)
            step = limit if step > limit else -limit if step < -limit else step
        self.t0_us = current + step
        self.period_q = new_q
        self._prev_read = (read_at, n)
        self._win_start = now_us
        self._win_bound = None
        if self._rephase == 1:
            self._rephase = 0

    def skipped(self, samples):
        """Samples lost to a FIFO overflow still took their time."""
        self.count += samples

    def restarted(self, now_us):
        """The sensor was woken and re-configured at ``now_us``: its sample clock
        starts again at a phase of its own. The count jumps to the nearest index
        of its first sample (one period on); returns the samples skipped. Until
        the next window ends, t0 follows the new phase at once (a step of at most
        half a period), and the period is measured afresh."""
        due = self.due_at(now_us, True)
        lost = due - self.count if due > self.count else 0
        self.count += lost
        if self.t0_us is not None:
            self._rephase = 2
            self._prev_read = None
            self._win_bound = None
        return lost

    def due_at(self, now_us, restarted=False):
        """Index of the first sample the sensor takes after ``now_us``, when its
        FIFO was restarted then (the samples before were not delivered).

        FIFO reset only: the sensor's sample clock runs on, so it is the next
        sample period after ``now_us``. ``restarted`` (the chip was woken and
        re-configured): its sample clock starts again, the first sample comes
        one period later, at a phase of its own -- the nearest index is taken
        and the sample clock slews to the new phase."""
        if self.t0_us is None:
            return self.count
        if restarted:
            return (((now_us + self.period_us - self.t0_us) << _Q) + (self.period_q >> 1)
                    ) // self.period_q
        return (((now_us - self.t0_us) << _Q) // self.period_q) + 1

    def time_us(self, k):
        """Device time of sample k (0 = the first since reset), µs."""
        return self.t0_us + ((k * self.period_q) >> _Q)

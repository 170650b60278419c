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

Integer arithmetic throughout, every value a small int (below 2^30) so that
nothing is heap-allocated on the ESP32, whose small ints end at 2^30
(floats are single precision and heap objects there). Device times are µs
modulo 2^30 (``MASK``), like ``time.ticks_us()``; differences go through
``diff()``, valid while the two times are less than 2^29 µs (9 min) apart.
t(k) is kept as ``base_t + (k - base_k) * period``, re-based at every window,
so (k - base_k) stays a few thousand (times the period in 1/64 µs,
``Q_BITS``, it is below 2^30 for gaps up to 16 s; a longer one costs a
heap-allocated int, not a wrong time).
The sample count itself reaches 2^30 after 62 days at 200 Hz.
"""

WINDOW_US = 4_000_000
SLEW_US = 200  # most t0 may move per window after the first
Q_BITS = 6  # period fixed point: 1/64 µs
_Q = Q_BITS
_MAX_ERROR_PCT = 5
MASK = (1 << 30) - 1  # device times wrap here
_HALF = 1 << 29
_BIG = 1 << 23  # (d << _Q) stays a small int below this (8 s)


def diff(a, b):
    """a - b for device times modulo 2^30 (|a - b| < 2^29)."""
    return ((a - b + _HALF) & MASK) - _HALF


class SampleClock:
    def __init__(self, period_us):
        self.reset(period_us)

    def reset(self, period_us):
        self.nominal_q = period_us << _Q
        self.period_q = self.nominal_q
        self.count = 0  # samples since reset, read or skipped
        self.base_k = 0  # t(k) = base_t + (k - base_k) * period
        self.base_t = None  # device time of sample base_k, µs mod 2^30 (None: no read yet)
        self._win_start = 0
        self._win_lag = None  # least-delayed read of this window: its lag behind t(n-1),
        self._win_at = 0  # its time
        self._win_n = 0  # and the count then
        self._prev_at = 0  # the previous window's best read: time and count
        self._prev_n = -1
        self._measured = False  # start-up ends with the first period measurement
        self._rephase = 0  # after a sensor restart: 2 = next read sets t0, 1 = tighten

    @property
    def period_us(self):
        return (self.period_q + (1 << (_Q - 1))) >> _Q

    def _since_base(self, k):
        return ((k - self.base_k) * self.period_q) >> _Q

    def on_read(self, now_us, new_samples):
        """Account for ``new_samples`` read at device time ``now_us`` (µs mod 2^30)."""
        self.count += new_samples
        if new_samples == 0:
            return
        n = self.count
        if self.base_t is None or self._rephase == 2:
            # the newest sample cannot have been taken after the read returned it
            self.base_k = n - 1
            self.base_t = now_us
            self._rephase >>= 1
            self._win_start = now_us
        # lag: how long after the model's time of sample n-1 the read came
        lag = diff(now_us, (self.base_t + self._since_base(n - 1)) & MASK)
        if lag < 0 and (not self._measured or self._rephase):
            self.base_t = (self.base_t + lag) & MASK  # start-up (or a restart): at once
            if self._win_lag is not None:
                self._win_lag -= lag  # the window's best read, against the moved model
            lag = 0
        if self._win_lag is None or lag < self._win_lag:
            self._win_lag = lag
            self._win_at = now_us
            self._win_n = n
        if diff(now_us, self._win_start) >= WINDOW_US:
            self._end_window(now_us)

    def _end_window(self, now_us):
        n = self._win_n
        read_at = self._win_at
        new_q = self.period_q
        settled = self._measured
        if self._prev_n >= 0 and n > self._prev_n:
            d = diff(read_at, self._prev_at)
            if 0 < d < _BIG:
                measured = (d << _Q) // (n - self._prev_n)
                if abs(measured - self.nominal_q) * 100 <= _MAX_ERROR_PCT * self.nominal_q:
                    # the first measurement replaces the nominal period; later ones are filtered
                    gain_shift = 2 if settled else 0
                    new_q = self.period_q + ((measured - self.period_q + (gain_shift and 2))
                                             >> gain_shift)
                    self._measured = True
        # re-base on the current count, keeping t(count) continuous through the
        # period change; then move it towards this window's envelope: at once
        # during start-up, afterwards by at most a quarter of the error (at least
        # SLEW_US), so timestamps do not jump
        count = self.count
        base_t = (self.base_t + self._since_base(count)) & MASK
        target = (read_at + (((count - n + 1) * new_q) >> _Q)) & MASK  # t(n-1) = read_at
        step = diff(target, base_t)
        if settled:
            limit = max(SLEW_US, abs(step) >> 2)
            step = limit if step > limit else -limit if step < -limit else step
        self.base_k = count
        self.base_t = (base_t + step) & MASK
        self.period_q = new_q
        self._prev_at = read_at
        self._prev_n = n
        self._win_start = now_us
        self._win_lag = None
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
        if self.base_t is not None:
            self._rephase = 2
            self._prev_n = -1
            self._win_lag = None
        return lost

    def due_at(self, now_us, restarted=False):
        """Index of the first sample the sensor takes after ``now_us``, when its
        FIFO was restarted then (the samples before were not delivered).

        FIFO reset only: the sensor's sample clock runs on, so it is the next
        sample period after ``now_us``. ``restarted`` (the chip was woken and
        re-configured): its sample clock starts again, the first sample comes
        one period later, at a phase of its own -- the nearest index is taken
        and the sample clock slews to the new phase."""
        if self.base_t is None:
            return self.count
        pq = self.period_q
        d = diff(now_us, self.base_t)
        if restarted:
            d += self.period_us + (self.period_us >> 1)
        if d < 0:
            return self.base_k
        k = (d << _Q) // pq if d < _BIG else d // self.period_us
        return self.base_k + k + (0 if restarted else 1)

    def time_us(self, k):
        """Device time of sample k (0 = the first since reset), µs mod 2^30."""
        return (self.base_t + self._since_base(k)) & MASK

"""firmware/mpu6050.py against the emulated chip of fake_mpu.py, under MicroPython.

Run (tests/test_firmware_mpu.py does this)::

    MICROPYPATH=firmware:protocol:tests/firmware micropython tests/firmware/mpu_check.py

Every ``test_*`` function is one check; a tiny harness (the unix port has no
unittest) prints one line per failure, then "N passed, M failed", and exits
1 if anything failed. The same functions also run under CPython via pytest.
"""

from array import array

import fake_mpu
import harness
from fake_mpu import FakeMPU
from mpu6050 import MPU6050, IMUError

import sacrum_protocol as sp

try:
    import micropython
except ImportError:  # CPython
    micropython = None


class CheckError(Exception):
    pass


def eq(got, want, what=""):
    if got != want:
        raise CheckError(what + ": got " + repr(got) + ", want " + repr(want))


def close(got, want, what="", rel=1e-9):
    if abs(got - want) > rel * abs(want):
        raise CheckError(what + ": got " + repr(got) + ", want " + repr(want))


def raises(exc_type, fn, *args):
    try:
        fn(*args)
    except exc_type as err:
        return err
    raise CheckError("no " + exc_type.__name__ + " from " + repr(fn))


def running(who=fake_mpu.WHO_MPU6050, rate_hz=100, **config):
    """A fake chip and a driver on it, configured and started."""
    bus = FakeMPU(who)
    mpu = MPU6050(bus)
    mpu.probe()
    mpu.configure(rate_hz, **config)
    mpu.start()
    return bus, mpu


def sample(i):
    """Distinct values per sample and axis, both signs, both bytes non-trivial."""
    return (
        i * 7 - 300, -(i * 13) - 1, 258 + i, -256 - i, 0x1234 - i, -0x1234 + 3 * i,
    )


def push(bus, first, count):
    samples = [sample(i) for i in range(first, first + count)]
    bus.push_samples([s[:3] for s in samples], [s[3:] for s in samples])
    return samples


def drain(mpu, raw, max_samples):
    out = []
    n = mpu.read(raw, max_samples)
    for i in range(n):
        out.append(tuple(raw[6 * i:6 * i + 6]))
    return out


def new_raw(n):
    return array("h", bytes(12 * n))


# --- probe ----------------------------------------------------------------------------
def test_probe_identifies_each_variant():
    for who, code, size in (
        (fake_mpu.WHO_MPU6050, sp.IMU_MPU6050, 1024),
        (fake_mpu.WHO_MPU6500, sp.IMU_MPU6500, 512),
        (fake_mpu.WHO_MPU9250, sp.IMU_MPU9250, 512),
        (fake_mpu.WHO_MPU9255, sp.IMU_MPU9250, 512),
        (0x98, sp.IMU_OTHER, 512),
    ):
        mpu = MPU6050(FakeMPU(who))
        eq(mpu.probe(), code, "probe of WHO_AM_I " + hex(who))
        eq(mpu.imu_type, code, "imu_type")
        eq(mpu.fifo_size, size, "fifo_size")
        eq(mpu.bus_errors, 0, "bus_errors")


def test_probe_of_absent_device_raises_imuerror():
    bus = FakeMPU()
    bus.present = False
    mpu = MPU6050(bus)
    err = raises(IMUError, mpu.probe)
    msg = str(err)
    if "0x68" not in msg or "wiring" not in msg:
        raise CheckError("message does not say where and what to check: " + msg)
    eq(mpu.bus_errors, 4, "bus_errors after 1 try + 3 retries")


def test_probe_at_wrong_address_lists_what_answers():
    bus = FakeMPU(addr=0x69)
    err = raises(IMUError, MPU6050(bus).probe)
    if "0x69" not in str(err):
        raise CheckError("scan result missing from: " + str(err))


def test_probe_rejects_ff_and_00():
    for who in (0xFF, 0x00):
        raises(IMUError, MPU6050(FakeMPU(who)).probe)


def test_probe_survives_transient_errors():
    bus = FakeMPU(fake_mpu.WHO_MPU6500)
    bus.fail(3)
    mpu = MPU6050(bus)
    eq(mpu.probe(), sp.IMU_MPU6500, "probe")
    eq(mpu.bus_errors, 3, "bus_errors")


# --- configure / start ----------------------------------------------------------------
def test_configure_sets_registers_and_scales():
    rates = ((50, 19, 4), (100, 9, 3), (200, 4, 2))  # rate, SMPLRT_DIV, DLPF_CFG
    accels = ((2, 0), (4, 1), (8, 2), (16, 3))
    gyros = ((250, 0, 131.0), (500, 1, 65.5), (1000, 2, 32.8), (2000, 3, 16.4))
    for who in (fake_mpu.WHO_MPU6050, fake_mpu.WHO_MPU6500):
        for rate, div, dlpf in rates:
            for g, afs in accels:
                for dps, fs, lsb_per_dps in gyros:
                    bus = FakeMPU(who)
                    mpu = MPU6050(bus)
                    mpu.configure(rate, g, dps)  # probes by itself
                    what = hex(who) + " " + str((rate, g, dps))
                    r = bus.regs
                    eq(r[fake_mpu.PWR_MGMT_1], 0x01, what + " PWR_MGMT_1 (awake, PLL)")
                    eq(r[fake_mpu.PWR_MGMT_2], 0, what + " PWR_MGMT_2")
                    eq(r[fake_mpu.SMPLRT_DIV], div, what + " SMPLRT_DIV")
                    eq(r[fake_mpu.CONFIG], dlpf, what + " CONFIG")
                    eq(r[fake_mpu.GYRO_CONFIG], fs << 3, what + " GYRO_CONFIG")
                    eq(r[fake_mpu.ACCEL_CONFIG], afs << 3, what + " ACCEL_CONFIG")
                    a2 = dlpf if who != fake_mpu.WHO_MPU6050 else 0
                    eq(r[fake_mpu.ACCEL_CONFIG2], a2, what + " ACCEL_CONFIG2")
                    eq(bus.sample_rate_hz(), rate, what + " emulated sample rate")
                    eq(mpu.rate_hz, rate, what + " rate_hz")
                    close(mpu.acc_mps2_per_lsb * 32768 / g, 9.80665, what + " acc scale")
                    close(mpu.gyr_radps_per_lsb * lsb_per_dps * 180 / 3.141592653589793,
                          1.0, what + " gyro scale")


def test_configure_rejects_unsupported_values():
    mpu = MPU6050(FakeMPU())
    raises(ValueError, mpu.configure, 25)
    raises(ValueError, mpu.configure, 100, 3)
    raises(ValueError, mpu.configure, 100, 8, 300)


def test_configure_stops_the_fifo_and_start_empties_it():
    bus, mpu = running()
    push(bus, 0, 5)
    bus.advance_samples(5)
    mpu.configure(200)
    eq(bus.regs[fake_mpu.USER_CTRL] & fake_mpu.USER_FIFO_EN, 0, "FIFO off after configure")
    bus.advance_samples(3)
    eq(bus.fifo_count, 60, "nothing queued while stopped")
    mpu.start()
    eq(bus.fifo_count, 0, "start empties the FIFO")
    eq(bus.regs[fake_mpu.FIFO_EN], 0x78, "FIFO_EN accel + gyro")
    eq(bus.regs[fake_mpu.USER_CTRL], fake_mpu.USER_FIFO_EN, "USER_CTRL")
    eq(bus.regs[fake_mpu.INT_ENABLE] & fake_mpu.FIFO_OFLOW, fake_mpu.FIFO_OFLOW, "INT_ENABLE")


def test_start_before_configure_raises():
    raises(IMUError, MPU6050(FakeMPU()).start)


def test_stop_disables_the_fifo():
    bus, mpu = running()
    mpu.stop()
    bus.advance_samples(4)
    eq(bus.fifo_count, 0, "FIFO count after stop")


# --- samples --------------------------------------------------------------------------
def test_samples_come_back_exactly_and_in_order():
    for who in (fake_mpu.WHO_MPU6050, fake_mpu.WHO_MPU6500):
        bus, mpu = running(who)
        raw = new_raw(16)
        want = push(bus, 0, 30)
        bus.advance_samples(30)
        got = []
        for _ in range(5):
            got.extend(drain(mpu, raw, 7))
        eq(got, want[:30], "samples of " + hex(who))
        eq(mpu.read(raw, 7), 0, "empty FIFO")
        eq(bus.underruns, 0, "reads beyond FIFO_COUNT")
        eq((mpu.overflow, mpu.fault, mpu.clipped), (False, False, False), "flags")


def test_big_endian_and_sign_decoding():
    bus, mpu = running()
    values = (0x0102, -2, -256, 255, 0x7F00, -0x7F00)
    bus.push_samples([values[:3]], [values[3:]])
    bus.advance_samples(1)
    raw = new_raw(1)
    eq(mpu.read(raw, 1), 1, "count")
    eq(tuple(raw), values, "decoded values")


def test_partial_record_stays_for_the_next_read():
    bus, mpu = running()
    raw = new_raw(8)
    want = push(bus, 0, 3)
    bus.advance_samples(2)
    record = bytearray()
    for v in want[2]:
        record.append((v >> 8) & 0xFF)
        record.append(v & 0xFF)
    bus.write_fifo(record[:5])  # the chip is half way through writing sample 2
    eq(drain(mpu, raw, 8), want[:2], "whole records only")
    eq(bus.fifo_count, 5, "partial record left in the FIFO")
    bus.write_fifo(record[5:])
    eq(drain(mpu, raw, 8), [want[2]], "the completed record")
    eq(bus.underruns, 0, "reads beyond FIFO_COUNT")


def test_read_respects_max_samples_and_raw_size():
    bus, mpu = running()
    want = push(bus, 0, 10)
    bus.advance_samples(10)
    small = new_raw(2)
    eq(drain(mpu, small, 5), want[:2], "limited by len(raw)")
    eq(drain(mpu, new_raw(10), 3), want[2:5], "limited by max_samples")
    eq(drain(mpu, new_raw(10), 10), want[5:], "the rest")


def test_emulated_time_at_the_configured_rate():
    for rate in (50, 100, 200):
        bus, mpu = running(rate_hz=rate)
        want = push(bus, 0, rate)
        bus.advance(0.25)
        raw = new_raw(64)
        got = drain(mpu, raw, 64)
        eq(len(got), rate // 4, "samples in 0.25 s at " + str(rate) + " Hz")
        eq(got, want[: rate // 4], "values")


def test_provider_feeds_the_chip():
    bus, mpu = running()
    counter = [0]

    def next_sample():
        counter[0] += 1
        return sample(counter[0])

    bus.provider = next_sample
    bus.advance(0.05)
    eq(drain(mpu, new_raw(8), 8), [sample(i) for i in range(1, 6)], "provider samples")


def test_chip_keeps_sampling_when_the_queue_runs_dry():
    bus, mpu = running()
    want = push(bus, 0, 1)
    bus.advance_samples(3)
    eq(drain(mpu, new_raw(4), 4), want * 3, "last sample repeated")


# --- overflow -------------------------------------------------------------------------
def test_overflow_resets_the_fifo_and_reading_recovers():
    for who, size in ((fake_mpu.WHO_MPU6050, 1024), (fake_mpu.WHO_MPU6500, 512)):
        bus, mpu = running(who)
        raw = new_raw(16)
        push(bus, 0, size // 12 + 3)
        bus.advance_samples(size // 12 + 3)
        eq(mpu.read(raw, 16), 0, hex(who) + " read during overflow")
        eq(mpu.overflow, True, "overflow flag")
        eq(mpu.overflows, 1, "overflows")
        eq(bus.fifo_count, 0, "FIFO reset")
        eq(mpu.fault, False, "fault")
        want = push(bus, 500, 4)
        bus.advance_samples(4)
        eq(drain(mpu, raw, 16), want, "samples after the reset")
        eq(mpu.overflow, False, "overflow cleared by a good read")


def test_full_fifo_counts_as_overflow_without_the_interrupt_bit():
    bus, mpu = running()
    bus.regs[fake_mpu.INT_ENABLE] = 0  # no FIFO_OFLOW_INT: only the count tells
    bus.advance_samples(90)
    eq(bus.regs[fake_mpu.INT_STATUS], 0, "no status bit")
    eq(mpu.read(new_raw(16), 16), 0, "read of a full FIFO")
    eq(mpu.overflow, True, "overflow flag")
    eq(bus.fifo_count, 0, "FIFO reset")


def test_overflow_bit_alone_discards_the_fifo():
    bus, mpu = running()
    bus.advance_samples(3)
    bus.regs[fake_mpu.INT_STATUS] = fake_mpu.FIFO_OFLOW
    eq(mpu.read(new_raw(8), 8), 0, "read")
    eq(mpu.overflow, True, "overflow flag")


# --- bus errors -----------------------------------------------------------------------
def test_transient_bus_errors_are_retried_invisibly():
    bus, mpu = running()
    raw = new_raw(8)
    want = push(bus, 0, 4)
    bus.advance_samples(4)
    bus.fail(3)
    eq(drain(mpu, raw, 8), want, "samples despite 3 errors")
    eq(mpu.bus_errors, 3, "bus_errors")
    eq((mpu.fault, mpu.overflow), (False, False), "fault, overflow")
    bus.fail(2, reg=fake_mpu.FIFO_COUNTH)
    want = push(bus, 10, 2)
    bus.advance_samples(2)
    eq(drain(mpu, raw, 8), want, "samples despite errors on FIFO_COUNT")
    eq(mpu.bus_errors, 5, "bus_errors, cumulative")


def test_persistent_bus_error_gives_fault_and_zero_then_recovers():
    bus, mpu = running()
    raw = new_raw(8)
    want = push(bus, 0, 4)
    bus.advance_samples(4)
    bus.fail(-1)
    for i in range(3):
        eq(mpu.read(raw, 8), 0, "read on a dead bus")  # and no exception
        eq(mpu.fault, True, "fault")
        eq(mpu.bus_errors, 4 * (i + 1), "bus_errors")
    bus.heal()
    eq(drain(mpu, raw, 8), want, "the queued samples, none lost")
    eq(mpu.fault, False, "fault cleared by a good read")


def test_device_gone_mid_stream_gives_fault_not_exception():
    bus, mpu = running()
    bus.present = False
    eq(mpu.read(new_raw(4), 4), 0, "read")
    eq(mpu.fault, True, "fault")


def test_failed_fifo_burst_resyncs_instead_of_misaligning():
    bus, mpu = running()
    raw = new_raw(8)
    push(bus, 0, 4)
    bus.advance_samples(4)
    bus.fail(1, reg=fake_mpu.FIFO_R_W, popped=5)  # broke off after 5 bytes
    eq(mpu.read(raw, 8), 0, "read with a failed burst")
    eq((mpu.overflow, mpu.fault), (True, False), "overflow, fault")
    eq(bus.fifo_count, 0, "FIFO reset")
    want = push(bus, 20, 3)
    bus.advance_samples(3)
    eq(drain(mpu, raw, 8), want, "aligned samples after the reset")


def test_fifo_reset_waits_for_the_bus_to_return():
    bus, mpu = running()
    raw = new_raw(8)
    bus.advance_samples(4)
    # INT_STATUS and FIFO_COUNT read fine, then the burst breaks off after 5
    # bytes and the bus stays down, so the FIFO reset cannot be written either
    bus.fail(-1, after=2, popped=5)
    for _ in range(2):
        eq(mpu.read(raw, 8), 0, "read on a dead bus")
        eq((mpu.overflow, mpu.fault), (True, True), "overflow, fault")
    eq(mpu.overflows, 1, "one loss, counted once")
    bus.heal()
    bus.advance_samples(2)  # queued behind the misaligned remainder
    eq(mpu.read(raw, 8), 0, "the pending FIFO reset comes first")
    eq((mpu.overflow, mpu.fault, bus.fifo_count), (True, False, 0), "after the reset")
    want = push(bus, 40, 2)
    bus.advance_samples(2)
    eq(drain(mpu, raw, 8), want, "aligned samples")
    eq(mpu.overflows, 1, "overflows")


# --- clipping -------------------------------------------------------------------------
def test_clipped_flag_per_read():
    bus, mpu = running()
    raw = new_raw(4)
    for value in (32767, -32768, -32767):
        bus.push_samples([(0, 0, 0), (1, 2, 3)], [(0, value, 0), (4, 5, 6)])
        bus.advance_samples(2)
        eq(mpu.read(raw, 4), 2, "count")
        eq(mpu.clipped, True, "clipped by " + str(value))
        bus.push_samples([(32766, -32766, 0)], [(0, 0, 0)])
        bus.advance_samples(1)
        eq(mpu.read(raw, 4), 1, "count")
        eq(mpu.clipped, False, "not clipped by +-32766")


# --- the sensor loop allocates nothing (MicroPython only) -----------------------------
def test_read_allocates_nothing():
    if micropython is None or not hasattr(micropython, "heap_lock"):
        return
    bus, mpu = running()
    raw = new_raw(16)
    push(bus, 0, 20)
    bus.advance_samples(20)
    micropython.heap_lock()
    try:
        n1 = mpu.read(raw, 8)
        n2 = mpu.read(raw, 16)
        n3 = mpu.read(raw, 16)
    finally:
        micropython.heap_unlock()
    eq((n1, n2, n3), (8, 12, 0), "counts read with the heap locked")


if __name__ == "__main__":
    harness.run(globals())

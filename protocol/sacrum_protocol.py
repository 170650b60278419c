"""sacrum wire protocol codec: the one implementation shared by firmware and host.

Runs unchanged under MicroPython (the ESP32 firmware) and CPython (the host).
protocol/SPEC.md is the normative definition; section numbers below refer to it.

MicroPython constraints respected here: no dataclasses, typing or f-strings
with format specs, module-level ``const()`` values, and ``*_into`` encoders
that write into a caller's preallocated buffer so the firmware's per-sample
path does not allocate.
"""

import struct

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):
        return x


# --- versions (SPEC 2, 2.3) -------------------------------------------------
VERSION = const(0x10)  # 1.0: major in the high nibble, minor in the low one
VERSION_MAJOR = const(1)
VERSION_MIN = const(0x10)  # range this codec implements, for HELLO
VERSION_MAX = const(0x12)  # 1.2: the BIAS packet (SPEC 2.5)
VERSION_1_1 = const(0x11)  # 1.1: the status record's health block (SPEC 2.2)
VERSION_1_2 = const(0x12)

# --- packet types (SPEC 2) --------------------------------------------------
PTYPE_DATA = const(0x01)
PTYPE_COMMAND = const(0x02)
PTYPE_RESPONSE = const(0x03)
PTYPE_SEGMENT = const(0x04)
PTYPE_BIAS = const(0x05)  # 1.2: the gyro bias the device takes off DATA's rate (SPEC 2.5)

# --- DATA packet (SPEC 2.1) -------------------------------------------------
# ptype, version, seq, sample_seq, t_us, period_us, dropped, flags, n
DATA_HEADER_FMT = "<BBHHIHHBB"
DATA_HEADER_SIZE = const(16)
# qw qx qy qz ax ay az gx gy gz
SAMPLE_FMT = "<10h"
SAMPLE_SIZE = const(20)
SAMPLE_FIELDS = ("qw", "qx", "qy", "qz", "ax", "ay", "az", "gx", "gy", "gz")
MAX_SAMPLES = const(11)
MIN_SAMPLES = const(1)

# Byte offsets of the DATA header fields (the host's numpy decoder uses these).
OFF_PTYPE = const(0)
OFF_VERSION = const(1)
OFF_SEQ = const(2)
OFF_SAMPLE_SEQ = const(4)
OFF_T_US = const(6)
OFF_PERIOD_US = const(10)
OFF_DROPPED = const(12)
OFF_FLAGS = const(14)
OFF_N = const(15)

# Wire scales: value_SI = raw / scale (SPEC 1.2). Powers of two: exact in float32.
Q_SCALE = const(16384)  # quaternion, Q14
ACC_SCALE = const(256)  # m/s^2
GYR_SCALE = const(1024)  # rad/s
I16_MIN = const(-32768)
I16_MAX = const(32767)

SEQ_MOD = const(65536)
T_US_MOD = 1 << 32  # not const(): exceeds a small int on 32-bit ports

# Status flags (SPEC 2.1)
FLAG_CALIBRATING = const(0x01)
FLAG_AT_REST = const(0x02)
FLAG_CLIPPING = const(0x04)
FLAG_LOW_BATTERY = const(0x08)
FLAG_FIFO_OVERFLOW = const(0x10)
FLAG_SENSOR_FAULT = const(0x20)
FLAG_RECOVERED = const(0x40)  # 1.1: the device healed a fault before this packet
# (not in FLAG_NAMES, the 1.0 names: a 1.0 reader treats bit 6 as reserved)
FLAG_NAMES = (
    (FLAG_CALIBRATING, "calibrating"),
    (FLAG_AT_REST, "at_rest"),
    (FLAG_CLIPPING, "clipping"),
    (FLAG_LOW_BATTERY, "low_battery"),
    (FLAG_FIFO_OVERFLOW, "fifo_overflow"),
    (FLAG_SENSOR_FAULT, "sensor_fault"),
)

# --- BIAS packet (SPEC 2.5, 1.2) ---------------------------------------------
# ptype, version, sample_seq, bias x y z (rad/s, Q24)
BIAS_FMT = "<BBHiii"
BIAS_SIZE = const(16)
BIAS_Q = const(24)
BIAS_SCALE = const(16777216)  # rad/s = raw / 2^24
BIAS_MAX_RAW = const(1 << 28)  # |bias| below 16 rad/s: anything larger is a corrupt packet

# --- COMMAND / RESPONSE (SPEC 2.2) ------------------------------------------
COMMAND_HEADER_SIZE = const(4)
RESPONSE_HEADER_SIZE = const(5)

OP_HELLO = const(0x01)
OP_START_STREAM = const(0x02)
OP_STOP_STREAM = const(0x03)
OP_SET_RATE = const(0x04)
OP_CALIBRATE_GYRO = const(0x05)
OP_SET_MOUNTING = const(0x06)
OP_IDENTIFY = const(0x07)
OP_GET_STATUS = const(0x08)
OP_SET_NAME = const(0x09)
OP_REBOOT = const(0x0A)
OP_SET_LINK = const(0x0B)
OP_SECURITY = const(0x0C)  # 1.1: u8 action (SECURITY_*), from a bonded host only
SECURITY_OFF = const(0)
SECURITY_ON = const(1)
SECURITY_FORGET_BONDS = const(2)
OPCODE_NAMES = {
    OP_HELLO: "HELLO",
    OP_START_STREAM: "START_STREAM",
    OP_STOP_STREAM: "STOP_STREAM",
    OP_SET_RATE: "SET_RATE",
    OP_CALIBRATE_GYRO: "CALIBRATE_GYRO",
    OP_SET_MOUNTING: "SET_MOUNTING",
    OP_IDENTIFY: "IDENTIFY",
    OP_GET_STATUS: "GET_STATUS",
    OP_SET_NAME: "SET_NAME",
    OP_REBOOT: "REBOOT",
    OP_SET_LINK: "SET_LINK",
    OP_SECURITY: "SECURITY",
}

RESULT_OK = const(0)
RESULT_UNKNOWN_OPCODE = const(1)
RESULT_BAD_LENGTH = const(2)
RESULT_BAD_VALUE = const(3)
RESULT_BUSY = const(4)
RESULT_NOT_AT_REST = const(5)
RESULT_UNSUPPORTED_VERSION = const(6)
RESULT_FAILED = const(7)
RESULT_BAD_PACKET = const(8)
RESULT_NOT_BONDED = const(9)  # 1.1: refused: the link is not bonded and encrypted
RESULT_NAMES = {
    RESULT_OK: "OK",
    RESULT_UNKNOWN_OPCODE: "UNKNOWN_OPCODE",
    RESULT_BAD_LENGTH: "BAD_LENGTH",
    RESULT_BAD_VALUE: "BAD_VALUE",
    RESULT_BUSY: "BUSY",
    RESULT_NOT_AT_REST: "NOT_AT_REST",
    RESULT_UNSUPPORTED_VERSION: "UNSUPPORTED_VERSION",
    RESULT_FAILED: "FAILED",
    RESULT_BAD_PACKET: "BAD_PACKET",
    RESULT_NOT_BONDED: "NOT_BONDED",
}

# Argument formats per opcode: a struct format, or None where the length
# varies (SET_MOUNTING: 0 or 8 bytes; SET_NAME: 1-20 bytes).
ARG_FORMATS = {
    OP_HELLO: "<BB",
    OP_START_STREAM: "",
    OP_STOP_STREAM: "",
    OP_SET_RATE: "<H",
    OP_CALIBRATE_GYRO: "<H",
    OP_SET_MOUNTING: None,
    OP_IDENTIFY: "<B",
    OP_GET_STATUS: "",
    OP_SET_NAME: None,
    OP_REBOOT: "",
    OP_SET_LINK: "<B",
    OP_SECURITY: "<B",
}
# Payload formats of an OK response (GET_STATUS: STATUS_FMT + name).
PAYLOAD_FORMATS = {
    OP_HELLO: "<BBB",
    OP_START_STREAM: "",
    OP_STOP_STREAM: "",
    OP_SET_RATE: "<H",
    OP_CALIBRATE_GYRO: "<hhh",
    OP_SET_MOUNTING: "<hhhh",
    OP_IDENTIFY: "",
    OP_GET_STATUS: None,
    OP_SET_NAME: "",
    OP_REBOOT: "",
    OP_SET_LINK: "<B",
    OP_SECURITY: "<B",
}
RATES_HZ = (50, 100, 200)
NAME_MAX_BYTES = const(20)
CALIBRATE_DEFAULT_MS = const(2000)
IDENTIFY_DEFAULT_S = const(5)
LINK_BLE = const(0)
LINK_SERIAL = const(1)

# fw major, minor, patch, protocol version, imu type, fault, flags, streaming,
# rate_hz, battery_mv, battery_pct, link, uptime_s, dropped_packets
STATUS_FMT = "<BBBBBBBBHHBBII"
STATUS_SIZE = const(22)
STATUS_FIELDS = (
    "fw_major", "fw_minor", "fw_patch", "protocol_version", "imu_type", "fault",
    "flags", "streaming", "rate_hz", "battery_mv", "battery_pct", "link",
    "uptime_s", "dropped_packets",
)
# 1.1 (sent when HELLO chose 1.1; the RESPONSE's version byte says which): a
# health block between the 22 bytes above and the name. fault events since
# boot, loop load (per mille of one core), longest loop step (ms), garbage
# collections (mod 2^16), free heap (KiB), BLE handler exceptions caught.
STATUS_EXT_FMT = "<HHHHHH"
STATUS_EXT_SIZE = const(12)
STATUS_EXT_FIELDS = (
    "fault_events", "loop_load_permille", "step_max_ms", "gc_runs", "heap_free_kib",
    "irq_errors",
)
IMU_NONE = const(0)
IMU_MPU6050 = const(1)
IMU_MPU6500 = const(2)
IMU_MPU9250 = const(3)
IMU_ICM42688 = const(4)  # 1.1
IMU_OTHER = const(255)
IMU_NAMES = {0: "none", 1: "MPU-6050", 2: "MPU-6500", 3: "MPU-9250", 4: "ICM-42688-P",
             255: "other"}
FAULT_NONE = const(0)
FAULT_IMU_MISSING = const(1)
FAULT_IMU_BUS = const(2)
FAULT_CONFIG_RESET = const(3)
# 1.1: faults the device healed by itself (the code stays until the next one)
FAULT_IMU_RESET = const(4)  # the IMU stalled (woke asleep, FIFO off) and was re-initialised
FAULT_BUS_STUCK = const(5)  # SDA was held low; the bus was clocked free
FAULT_IMU_POWER = const(6)  # the IMU lost power (NACKs), then was re-initialised
FAULT_BLE_IRQ = const(7)  # an exception inside the BLE event handler was caught
FAULT_LINK_LOST = const(8)  # the host dropped the link while streaming
FAULT_WATCHDOG = const(9)  # the last reset was the watchdog's
FAULT_NAMES = {
    FAULT_NONE: "none", FAULT_IMU_MISSING: "IMU missing", FAULT_IMU_BUS: "IMU bus errors",
    FAULT_CONFIG_RESET: "config reset to defaults", FAULT_IMU_RESET: "IMU re-initialised",
    FAULT_BUS_STUCK: "I2C bus recovered", FAULT_IMU_POWER: "IMU power lost",
    FAULT_BLE_IRQ: "BLE handler error", FAULT_LINK_LOST: "link lost while streaming",
    FAULT_WATCHDOG: "watchdog reset",
}

# --- SEGMENT (SPEC 2.4) -----------------------------------------------------
SEGMENT_HEADER_SIZE = const(4)
MAX_SEGMENTS = const(16)
ATT_OVERHEAD = const(3)  # notification value = ATT_MTU - 3
MIN_MTU = const(23)

# --- GATT (SPEC 3) ----------------------------------------------------------
SERVICE_UUID = "5ac10001-5e1d-4b6e-a1c3-7f0e2d9c4b10"
DATA_CHAR_UUID = "5ac10002-5e1d-4b6e-a1c3-7f0e2d9c4b10"
CONTROL_CHAR_UUID = "5ac10003-5e1d-4b6e-a1c3-7f0e2d9c4b10"
RESPONSE_CHAR_UUID = "5ac10004-5e1d-4b6e-a1c3-7f0e2d9c4b10"
DEVICE_INFO_SERVICE_UUID16 = const(0x180A)
BATTERY_SERVICE_UUID16 = const(0x180F)

# --- serial framing (SPEC 4) ------------------------------------------------
FRAME_DELIMITER = const(0x00)
MAX_FRAME_SIZE = const(512)

# --- capture files (SPEC 5) -------------------------------------------------
CAPTURE_MAGIC = b"\x89SACRUM\n"
CAPTURE_FILE_HEADER_FMT = "<8sHHI"
CAPTURE_FILE_HEADER_SIZE = const(16)
CAPTURE_FORMAT_MAJOR = const(1)
CAPTURE_FORMAT_MINOR = const(0)
# sync, kind, channel, reserved, length, reserved, host_time_ns
RECORD_HEADER_FMT = "<BBBBHHq"
RECORD_HEADER_SIZE = const(16)
RECORD_TRAILER_SIZE = const(4)  # crc32
RECORD_SYNC = const(0xA5)
RECORD_MAX_PAYLOAD = const(4096)
KIND_HEADER = const(0x01)
KIND_PACKET = const(0x02)
KIND_ANNOTATION = const(0x03)
KIND_EVENT = const(0x04)
KIND_DEVICE = const(0x05)
CH_NONE = const(0)
CH_BLE_DATA = const(1)
CH_BLE_RESPONSE = const(2)
CH_BLE_CONTROL = const(3)
CH_SERIAL_RX = const(4)
CH_SERIAL_TX = const(5)
CHANNEL_NAMES = {
    CH_NONE: "none",
    CH_BLE_DATA: "ble-data",
    CH_BLE_RESPONSE: "ble-response",
    CH_BLE_CONTROL: "ble-control",
    CH_SERIAL_RX: "serial-rx",
    CH_SERIAL_TX: "serial-tx",
}
TASKS = (
    "walk", "stairs-up", "stairs-down",
    "single-leg-stance-left", "single-leg-stance-right",
    "step-down-left", "step-down-right", "step-up-left", "step-up-right",
    # exercises (host docs/exercises.md) and running (docs/running.md), capture minor 0 still
    "bridge", "bridge-hold", "single-leg-bridge-left", "single-leg-bridge-right",
    "bird-dog", "dead-bug", "plank", "side-plank-left", "side-plank-right",
    "clamshell-left", "clamshell-right", "single-leg-deadlift-left",
    "single-leg-deadlift-right", "split-squat-left", "split-squat-right",
    "run",
)


class ProtocolError(ValueError):
    """A packet or frame that does not follow SPEC.md.

    ``result`` is the result code a device answers a bad command with.
    """

    def __init__(self, message, result=RESULT_BAD_PACKET):
        super().__init__(message)
        self.result = result


# --- scaling helpers --------------------------------------------------------
def to_i16(value, scale):
    """Round ``value * scale`` to the nearest int and clamp it to i16."""
    r = int(value * scale + (0.5 if value >= 0 else -0.5))
    if r > I16_MAX:
        return I16_MAX
    if r < I16_MIN:
        return I16_MIN
    return r


def version_major(version):
    return version >> 4


def check_version(version):
    if version >> 4 != VERSION_MAJOR:
        raise ProtocolError(
            "protocol version %d.%d is not supported (this side implements %d.x)"
            % (version >> 4, version & 0xF, VERSION_MAJOR),
            RESULT_UNSUPPORTED_VERSION,
        )


# --- DATA -------------------------------------------------------------------
def data_packet_size(n):
    return DATA_HEADER_SIZE + SAMPLE_SIZE * n


def samples_per_packet(mtu):
    """Samples per DATA packet at ATT MTU ``mtu`` (SPEC 2.4)."""
    room = mtu - ATT_OVERHEAD - DATA_HEADER_SIZE
    n = room // SAMPLE_SIZE
    if n < MIN_SAMPLES:
        return 4
    return n if n < MAX_SAMPLES else MAX_SAMPLES


def pack_data_header_into(buf, seq, sample_seq, t_us, period_us, dropped, flags, n):
    """Write a DATA header at the start of ``buf`` (no allocation)."""
    struct.pack_into(
        DATA_HEADER_FMT, buf, 0, PTYPE_DATA, VERSION, seq & 0xFFFF, sample_seq & 0xFFFF,
        t_us & 0xFFFFFFFF, period_us, dropped & 0xFFFF, flags, n,
    )


def pack_sample_into(buf, index, qw, qx, qy, qz, ax, ay, az, gx, gy, gz):
    """Write sample ``index`` (raw i16 values) into a DATA packet buffer."""
    struct.pack_into(
        SAMPLE_FMT, buf, DATA_HEADER_SIZE + SAMPLE_SIZE * index,
        qw, qx, qy, qz, ax, ay, az, gx, gy, gz,
    )


def encode_data(seq, sample_seq, t_us, period_us, dropped, flags, samples):
    """Return a DATA packet; ``samples`` is a sequence of 10-int raw records."""
    n = len(samples)
    if n < MIN_SAMPLES or n > MAX_SAMPLES:
        raise ProtocolError("a DATA packet holds 1 to 11 samples, not %d" % n)
    buf = bytearray(data_packet_size(n))
    pack_data_header_into(buf, seq, sample_seq, t_us, period_us, dropped, flags, n)
    for i in range(n):
        pack_sample_into(buf, i, *samples[i])
    return bytes(buf)


def decode_data_header(buf):
    """Check a DATA packet's framing and return its header fields.

    Returns (seq, sample_seq, t_us, period_us, dropped, flags, n).
    Raises ProtocolError if the type, version or length is wrong.
    """
    if len(buf) >= 2 and buf[0] == PTYPE_DATA:
        check_version(buf[1])  # a future version may have another header size
    if len(buf) < DATA_HEADER_SIZE:
        raise ProtocolError("DATA packet of %d bytes is shorter than its header" % len(buf))
    ptype, version, seq, sseq, t_us, period, dropped, flags, n = struct.unpack_from(
        DATA_HEADER_FMT, buf, 0
    )
    if ptype != PTYPE_DATA:
        raise ProtocolError("packet type 0x%02x is not DATA" % ptype)
    check_version(version)
    if n < MIN_SAMPLES or n > MAX_SAMPLES or len(buf) != data_packet_size(n):
        raise ProtocolError(
            "DATA packet of %d bytes says it holds %d samples (needs %d bytes)"
            % (len(buf), n, data_packet_size(n))
        )
    if period == 0:
        raise ProtocolError("DATA packet with a sample period of 0 us")
    return seq, sseq, t_us, period, dropped, flags, n


def decode_data(buf):
    """Decode a DATA packet: (header tuple, list of raw 10-int sample tuples)."""
    header = decode_data_header(buf)
    samples = [
        struct.unpack_from(SAMPLE_FMT, buf, DATA_HEADER_SIZE + SAMPLE_SIZE * i)
        for i in range(header[6])
    ]
    return header, samples


def sample_to_si(raw):
    """Raw 10-int sample -> (q 4-tuple, acc m/s^2 3-tuple, gyro rad/s 3-tuple)."""
    return (
        (raw[0] / Q_SCALE, raw[1] / Q_SCALE, raw[2] / Q_SCALE, raw[3] / Q_SCALE),
        (raw[4] / ACC_SCALE, raw[5] / ACC_SCALE, raw[6] / ACC_SCALE),
        (raw[7] / GYR_SCALE, raw[8] / GYR_SCALE, raw[9] / GYR_SCALE),
    )


def seq_diff(a, b):
    """Signed difference b - a of two 16-bit sequence numbers, in [-32768, 32767]."""
    d = (b - a) & 0xFFFF
    return d - SEQ_MOD if d >= 0x8000 else d


# --- BIAS -------------------------------------------------------------------
def pack_bias_into(buf, sample_seq, bx, by, bz):
    """Write a BIAS packet (SPEC 2.5) into ``buf`` (16 bytes, no allocation): the
    bias (rad/s, Q24 ints) taken off the rate of sample ``sample_seq`` onwards."""
    struct.pack_into(BIAS_FMT, buf, 0, PTYPE_BIAS, VERSION_1_2, sample_seq & 0xFFFF,
                     bx, by, bz)


def encode_bias(sample_seq, bx, by, bz):
    """Return a BIAS packet; ``bx by bz`` are rad/s in Q24 (ints)."""
    buf = bytearray(BIAS_SIZE)
    pack_bias_into(buf, sample_seq, bx, by, bz)
    return bytes(buf)


def decode_bias(buf):
    """Decode a BIAS packet: (sample_seq, (bx, by, bz) in Q24 ints).

    Raises ProtocolError if the type, version, length or a value is wrong
    (``result`` UNSUPPORTED_VERSION for another major version)."""
    if len(buf) >= 2 and buf[0] == PTYPE_BIAS:
        check_version(buf[1])
    if len(buf) != BIAS_SIZE:
        raise ProtocolError("BIAS packet of %d bytes (needs %d)" % (len(buf), BIAS_SIZE))
    ptype, version, sseq, bx, by, bz = struct.unpack_from(BIAS_FMT, buf, 0)
    if ptype != PTYPE_BIAS:
        raise ProtocolError("packet type 0x%02x is not BIAS" % ptype)
    check_version(version)
    for v in (bx, by, bz):
        if v >= BIAS_MAX_RAW or v <= -BIAS_MAX_RAW:
            raise ProtocolError("BIAS of %d/2^24 rad/s is out of range" % v)
    return sseq, (bx, by, bz)


# --- COMMAND / RESPONSE -----------------------------------------------------
def encode_command(token, opcode, args=b""):
    return bytes((PTYPE_COMMAND, VERSION, token & 0xFF, opcode)) + bytes(args)


def decode_command(buf):
    """Return (version, token, opcode, args) of a COMMAND packet.

    Raises ProtocolError whose ``result`` is BAD_PACKET or UNSUPPORTED_VERSION.
    """
    if len(buf) >= 2 and buf[0] == PTYPE_COMMAND:
        check_version(buf[1])
    if len(buf) < COMMAND_HEADER_SIZE:
        raise ProtocolError("COMMAND packet of %d bytes is shorter than its header" % len(buf))
    if buf[0] != PTYPE_COMMAND:
        raise ProtocolError("packet type 0x%02x is not COMMAND" % buf[0])
    check_version(buf[1])
    return buf[1], buf[2], buf[3], bytes(buf[COMMAND_HEADER_SIZE:])


def check_args(opcode, args):
    """Validate a command's arguments; return them unpacked as a tuple.

    Raises ProtocolError with result UNKNOWN_OPCODE, BAD_LENGTH or BAD_VALUE.
    """
    if opcode not in ARG_FORMATS:
        raise ProtocolError("unknown opcode 0x%02x" % opcode, RESULT_UNKNOWN_OPCODE)
    fmt = ARG_FORMATS[opcode]
    if opcode == OP_SET_MOUNTING:
        if len(args) == 0:
            return ()
        if len(args) != 8:
            raise ProtocolError("SET_MOUNTING takes 0 or 8 bytes", RESULT_BAD_LENGTH)
        q = struct.unpack("<hhhh", args)
        norm2 = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]) / (Q_SCALE * Q_SCALE)
        if norm2 < 0.98 or norm2 > 1.02:
            raise ProtocolError("SET_MOUNTING quaternion is not unit length", RESULT_BAD_VALUE)
        return q
    if opcode == OP_SET_NAME:
        if len(args) < 1 or len(args) > NAME_MAX_BYTES:
            raise ProtocolError("SET_NAME takes 1 to 20 bytes", RESULT_BAD_LENGTH)
        try:
            name = bytes(args).decode("utf-8")
        except UnicodeError:
            raise ProtocolError("SET_NAME is not UTF-8", RESULT_BAD_VALUE)
        return (name,)
    if len(args) != struct.calcsize(fmt):
        raise ProtocolError(
            "%s takes %d argument bytes, not %d"
            % (OPCODE_NAMES[opcode], struct.calcsize(fmt), len(args)),
            RESULT_BAD_LENGTH,
        )
    values = struct.unpack(fmt, args) if fmt else ()
    if opcode == OP_SET_RATE and values[0] not in RATES_HZ:
        raise ProtocolError("rate %d Hz is not one of 50, 100, 200" % values[0], RESULT_BAD_VALUE)
    if opcode == OP_SECURITY and values[0] > SECURITY_FORGET_BONDS:
        raise ProtocolError("SECURITY action is 0 off, 1 on or 2 forget bonds", RESULT_BAD_VALUE)
    if opcode == OP_SET_LINK and values[0] not in (LINK_BLE, LINK_SERIAL):
        raise ProtocolError("link %d is not 0 (BLE) or 1 (serial)" % values[0], RESULT_BAD_VALUE)
    if opcode == OP_HELLO and values[0] > values[1]:
        raise ProtocolError("HELLO range is empty", RESULT_BAD_VALUE)
    return values


def encode_response(token, opcode, result, payload=b"", version=VERSION):
    return bytes((PTYPE_RESPONSE, version, token & 0xFF, opcode & 0xFF, result)) + bytes(payload)


def decode_response(buf):
    """Return (version, token, opcode, result, payload) of a RESPONSE packet."""
    if len(buf) >= 2 and buf[0] == PTYPE_RESPONSE:
        check_version(buf[1])
    if len(buf) < RESPONSE_HEADER_SIZE:
        raise ProtocolError("RESPONSE packet of %d bytes is shorter than its header" % len(buf))
    if buf[0] != PTYPE_RESPONSE:
        raise ProtocolError("packet type 0x%02x is not RESPONSE" % buf[0])
    check_version(buf[1])
    return buf[1], buf[2], buf[3], buf[4], bytes(buf[RESPONSE_HEADER_SIZE:])


def negotiate_version(host_min, host_max, dev_min=VERSION_MIN, dev_max=VERSION_MAX):
    """Highest version in both ranges, or None (SPEC 2.3)."""
    hi = host_max if host_max < dev_max else dev_max
    lo = host_min if host_min > dev_min else dev_min
    return hi if hi >= lo else None


def pack_status(values, name, version=VERSION):
    """GET_STATUS payload from the 14 STATUS_FIELDS values and a name; for
    ``version`` 1.1 and up, 20 values: the 14 then the STATUS_EXT_FIELDS.

    A name longer than 20 bytes is cut at a character boundary, so the record
    stays valid UTF-8 (and ``unpack_status`` accepts it).
    """
    raw = name.encode("utf-8")
    if len(raw) > NAME_MAX_BYTES:
        cut = NAME_MAX_BYTES
        while raw[cut] & 0xC0 == 0x80:  # continuation byte: back to its character's start
            cut -= 1
        raw = raw[:cut]
    head = struct.pack(STATUS_FMT, *values[:14])
    if version >= VERSION_1_1:
        head += struct.pack(STATUS_EXT_FMT, *(min(max(v, 0), 0xFFFF) for v in values[14:20]))
    return head + raw


def unpack_status(payload, version=VERSION):
    """Return (tuple of the STATUS_FIELDS values, name) of a GET_STATUS payload
    sent in ``version`` (the RESPONSE's byte 1): 14 values for 1.0, 20 (then
    the STATUS_EXT_FIELDS) for 1.1 and up."""
    size = STATUS_SIZE + (STATUS_EXT_SIZE if version >= VERSION_1_1 else 0)
    if len(payload) < size or len(payload) > size + NAME_MAX_BYTES:
        raise ProtocolError("status record of %d bytes (needs %d to %d)"
                            % (len(payload), size, size + NAME_MAX_BYTES))
    values = struct.unpack_from(STATUS_FMT, payload, 0)
    if size > STATUS_SIZE:
        values += struct.unpack_from(STATUS_EXT_FMT, payload, STATUS_SIZE)
    try:
        name = bytes(payload[size:]).decode("utf-8")
    except UnicodeError:
        raise ProtocolError("device name in the status record is not UTF-8")
    return values, name


# --- SEGMENT ----------------------------------------------------------------
def segment_chunk_size(mtu):
    return mtu - ATT_OVERHEAD - SEGMENT_HEADER_SIZE


def segment(packet, mtu, tag):
    """Split ``packet`` for ATT MTU ``mtu``: [packet] if it fits, else SEGMENTs."""
    if len(packet) <= mtu - ATT_OVERHEAD:
        return [bytes(packet)]
    size = segment_chunk_size(mtu)
    count = (len(packet) + size - 1) // size
    if count > MAX_SEGMENTS:
        raise ProtocolError("packet of %d bytes needs more than 16 segments" % len(packet))
    out = []
    for i in range(count):
        head = bytes((PTYPE_SEGMENT, VERSION, tag & 0xFF, (i << 4) | (count - 1)))
        out.append(head + bytes(packet[i * size:(i + 1) * size]))
    return out


class Reassembler:
    """Rebuilds packets from one characteristic's notifications (SPEC 2.4).

    ``push(value)`` returns a whole packet (a non-SEGMENT value is returned as
    it is) or None while a segmented packet is incomplete. ``incomplete``
    counts segmented packets abandoned because a segment was missing;
    ``orphans`` the segments of packets whose first segment never came.
    """

    def __init__(self):
        self.tag = -1
        self.parts = []
        self.count = 0
        self.incomplete = 0
        self.orphans = 0

    def reset(self):
        if self.parts:
            self.incomplete += 1
        self.tag = -1
        self.parts = []
        self.count = 0

    def push(self, value):
        if len(value) < 1 or value[0] != PTYPE_SEGMENT:
            if self.parts:
                self.reset()
            return value
        if len(value) < SEGMENT_HEADER_SIZE:
            self.reset()
            raise ProtocolError("SEGMENT of %d bytes is shorter than its header" % len(value))
        check_version(value[1])
        tag = value[2]
        index = value[3] >> 4
        count = (value[3] & 0x0F) + 1
        if index == 0:
            if self.parts:
                self.reset()
            self.tag = tag
            self.count = count
            self.parts = [bytes(value[SEGMENT_HEADER_SIZE:])]
        elif tag != self.tag or count != self.count or index != len(self.parts):
            # a segment is missing or out of order: the packet is lost
            if not self.parts:
                self.orphans += 1
            self.reset()
            return None
        else:
            self.parts.append(bytes(value[SEGMENT_HEADER_SIZE:]))
        if len(self.parts) == self.count:
            packet = b"".join(self.parts)
            self.tag = -1
            self.parts = []
            self.count = 0
            return packet
        return None


# --- CRC-16/CCITT-FALSE and COBS (SPEC 4) -----------------------------------
def _make_crc16_table():
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC16_TABLE = _make_crc16_table()


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE of ``data`` (check value of b"123456789" is 0x29B1)."""
    table = _CRC16_TABLE
    for b in data:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ b]
    return crc


def cobs_encode(data):
    """COBS-encode ``data``; the result contains no zero byte."""
    out = bytearray()
    code_at = 0
    out.append(0)
    code = 1
    for b in data:
        if b == 0:
            out[code_at] = code
            code_at = len(out)
            out.append(0)
            code = 1
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_at] = code
                code_at = len(out)
                out.append(0)
                code = 1
    out[code_at] = code
    return bytes(out)


def cobs_decode(data):
    """Decode a COBS block (without its delimiter); raise ProtocolError if invalid."""
    data = bytes(data)
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        end = i + code
        if code == 0 or end > n:
            raise ProtocolError("malformed COBS frame (code %d at byte %d)" % (code, i))
        block = data[i + 1:end]
        if b"\x00" in block:
            raise ProtocolError("zero byte inside a COBS frame")
        out.extend(block)
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


def encode_frame(packet):
    """Serial frame of ``packet``: COBS(packet + crc16 LE) + 0x00 (SPEC 4)."""
    crc = crc16(packet)
    return cobs_encode(bytes(packet) + bytes((crc & 0xFF, crc >> 8))) + b"\x00"


def decode_frame(frame):
    """Packet inside a serial frame given without its 0x00 delimiter."""
    if len(frame) > MAX_FRAME_SIZE:
        raise ProtocolError("serial frame of %d bytes is longer than 512" % len(frame))
    raw = cobs_decode(frame)
    if len(raw) < 3:
        raise ProtocolError("serial frame of %d bytes is too short for a packet" % len(raw))
    crc = raw[-2] | (raw[-1] << 8)
    if crc16(raw[:-2]) != crc:
        raise ProtocolError("serial frame CRC mismatch")
    return raw[:-2]


class FrameSplitter:
    """Splits a serial byte stream into frames at 0x00 delimiters.

    ``feed(data)`` returns the complete frames (delimiter removed, still COBS
    encoded, as a capture stores them). Overlong runs without a delimiter are
    discarded and counted in ``oversize`` so garbage cannot grow memory.
    """

    def __init__(self):
        self.buf = bytearray()
        self.oversize = 0
        self._discarding = False

    def feed(self, data):
        frames = []
        data = bytes(data)
        start = 0
        while True:
            z = data.find(b"\x00", start)
            end = len(data) if z < 0 else z
            if not self._discarding:
                self.buf.extend(data[start:end])
                if len(self.buf) > MAX_FRAME_SIZE:
                    self.oversize += 1
                    self.buf = bytearray()
                    self._discarding = True
            if z < 0:
                return frames
            if self._discarding:
                self._discarding = False
            elif self.buf:
                frames.append(bytes(self.buf))
            self.buf = bytearray()
            start = z + 1

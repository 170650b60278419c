"""Generate the golden protocol vectors in protocol/vectors/ (SPEC.md v1.0, 1.1 and 1.2).

Usage (from the repository root, CPython only)::

    python protocol/make_vectors.py          # rewrite protocol/vectors/*.json
    python protocol/make_vectors.py --check  # exit 1 if the files differ

The vectors check ``sacrum_protocol`` on the host (tests/test_protocol_vectors.py)
and under MicroPython (tests/micropython/vector_check.py), so nothing here comes
from that codec: every packet is assembled field by field from SPEC.md's tables
with ``int.to_bytes``, and CRC-16/CCITT-FALSE and COBS are implemented below on
their own (the CRC is cross-checked with ``binascii.crc_hqx``). The values in
the tables are hand-picked to hit edges (wraps, extremes, every flag, every
opcode and result); sample data comes from a fixed formula, not a random
generator, so the output is identical on every run.

Each file is a JSON list of objects, each with ``name``, ``description`` and
``hex`` (the bytes under test) plus the decoded fields; files that hold more
than one kind of vector say which in ``kind``. Field names for status records
and flags follow sacrum_protocol's STATUS_FIELDS and SPEC.md's flag names.
"""

import binascii
import json
import sys
from pathlib import Path

VECTORS_DIR = Path(__file__).resolve().parent / "vectors"

# --- constants transcribed from SPEC.md ---------------------------------------
VERSION = 0x10  # 1.0
PTYPE = {"DATA": 0x01, "COMMAND": 0x02, "RESPONSE": 0x03, "SEGMENT": 0x04}
FLAGS = {  # SPEC 2.1, status flags
    "CALIBRATING": 0x01,
    "AT_REST": 0x02,
    "CLIPPING": 0x04,
    "LOW_BATTERY": 0x08,
    "FIFO_OVERFLOW": 0x10,
    "SENSOR_FAULT": 0x20,
}  # 1.1's RECOVERED (0x40) is not in the 1.0 vectors: to a 1.0 reader it is reserved
OPCODES = {  # SPEC 2.2, opcodes
    "HELLO": 0x01,
    "START_STREAM": 0x02,
    "STOP_STREAM": 0x03,
    "SET_RATE": 0x04,
    "CALIBRATE_GYRO": 0x05,
    "SET_MOUNTING": 0x06,
    "IDENTIFY": 0x07,
    "GET_STATUS": 0x08,
    "SET_NAME": 0x09,
    "REBOOT": 0x0A,
    "SET_LINK": 0x0B,
    "SECURITY": 0x0C,  # 1.1
}
RESULTS = {  # SPEC 2.2, result codes
    "OK": 0,
    "UNKNOWN_OPCODE": 1,
    "BAD_LENGTH": 2,
    "BAD_VALUE": 3,
    "BUSY": 4,
    "NOT_AT_REST": 5,
    "UNSUPPORTED_VERSION": 6,
    "FAILED": 7,
    "BAD_PACKET": 8,
    "NOT_BONDED": 9,  # 1.1
}
OPCODE_NAMES = {code: name for name, code in OPCODES.items()}
RESULT_NAMES = {code: name for name, code in RESULTS.items()}
Q_SCALE, ACC_SCALE, GYR_SCALE = 16384, 256, 1024  # SPEC 1.2
ATT_OVERHEAD = 3  # SPEC 2.4: a notification carries MTU - 3 bytes
SEGMENT_HEADER = 4


# --- field encoders -------------------------------------------------------------
def u8(v):
    return v.to_bytes(1, "little")


def u16(v):
    return v.to_bytes(2, "little")


def i16(v):
    return v.to_bytes(2, "little", signed=True)


def u32(v):
    return v.to_bytes(4, "little")


# --- CRC-16/CCITT-FALSE and COBS (SPEC 4) -----------------------------------------
def crc16(data):
    """CRC-16/CCITT-FALSE, bit by bit: poly 0x1021, init 0xFFFF, no reflection/xorout."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = (crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    assert crc == binascii.crc_hqx(data, 0xFFFF)
    return crc


def cobs_encode(data):
    """COBS as in Cheshire & Baker's StuffData (1999).

    Each block is a code byte (1 + the number of non-zero bytes that follow)
    standing for the run and the zero after it; a code of 0xFF is a full run of
    254 non-zero bytes with no implied zero. Like the paper's code, a final
    block is always written, so data ending in a full 254-byte run ends in 0x01.
    """
    out = bytearray()
    run = bytearray()
    for byte in data:
        if byte == 0:
            out += u8(len(run) + 1) + run
            run = bytearray()
        else:
            run.append(byte)
            if len(run) == 254:
                out += b"\xff" + run
                run = bytearray()
    out += u8(len(run) + 1) + run
    assert 0 not in out
    return bytes(out)


def frame(packet):
    """Serial frame: COBS(packet ‖ crc16 LE) ‖ 0x00."""
    return cobs_encode(packet + u16(crc16(packet))) + b"\x00"


# --- packets ----------------------------------------------------------------------
def sample(k):
    """A fixed, varied raw sample (10 i16: qw qx qy qz ax ay az gx gy gz) for index k."""
    return [
        16000 - 37 * k, -1200 + 53 * k, 2100 - 29 * k, -350 + 17 * k,
        120 - 7 * k, -64 + 11 * k, 2511 + 3 * k,
        -45 + 13 * k, 30 - 9 * k, 5 * k - 12,
    ]


def data_packet(seq, sample_seq, t_us, period_us, dropped, flags, samples,
                ptype=PTYPE["DATA"], version=VERSION, n=None):
    """DATA packet per SPEC 2.1 (``n`` may be given to make it disagree with samples)."""
    head = (
        u8(ptype) + u8(version) + u16(seq) + u16(sample_seq) + u32(t_us)
        + u16(period_us) + u16(dropped) + u8(flags) + u8(len(samples) if n is None else n)
    )
    return head + b"".join(i16(v) for s in samples for v in s)


def command_packet(token, opcode, args=b"", version=VERSION, ptype=PTYPE["COMMAND"]):
    return u8(ptype) + u8(version) + u8(token) + u8(opcode) + args


def response_packet(token, opcode, result, payload=b"", version=VERSION,
                    ptype=PTYPE["RESPONSE"]):
    return u8(ptype) + u8(version) + u8(token) + u8(opcode) + u8(result) + payload


STATUS_FIELDS = (  # SPEC 2.2 status record, in wire order, with their widths
    ("fw_major", u8), ("fw_minor", u8), ("fw_patch", u8), ("protocol_version", u8),
    ("imu_type", u8), ("fault", u8), ("flags", u8), ("streaming", u8),
    ("rate_hz", u16), ("battery_mv", u16), ("battery_pct", u8), ("link", u8),
    ("uptime_s", u32), ("dropped_packets", u32),
)


def status_record(status, name_bytes):
    return b"".join(enc(status[key]) for key, enc in STATUS_FIELDS) + name_bytes


def segments(packet, mtu, tag):
    """Notification values for ``packet`` at ATT MTU ``mtu`` (SPEC 2.4)."""
    if len(packet) <= mtu - ATT_OVERHEAD:
        return [packet]
    size = mtu - ATT_OVERHEAD - SEGMENT_HEADER
    chunks = [packet[i:i + size] for i in range(0, len(packet), size)]
    assert len(chunks) <= 16
    return [
        u8(PTYPE["SEGMENT"]) + u8(VERSION) + u8(tag) + u8(i << 4 | (len(chunks) - 1)) + c
        for i, c in enumerate(chunks)
    ]


# --- DATA vectors ------------------------------------------------------------------
def data_vector(name, description, seq, sample_seq, t_us, period_us, dropped, flags,
                samples, version=VERSION):
    packet = data_packet(seq, sample_seq, t_us, period_us, dropped, flags, samples,
                         version=version)
    return {
        "name": name,
        "description": description,
        "hex": packet.hex(),
        "version": version,
        "seq": seq,
        "sample_seq": sample_seq,
        "t_us": t_us,
        "period_us": period_us,
        "dropped": dropped,
        "flags": flags,
        "flag_names": [f for f, bit in FLAGS.items() if flags & bit],
        "n": len(samples),
        "samples": samples,
        "q": [[v / Q_SCALE for v in s[0:4]] for s in samples],
        "acc_mps2": [[v / ACC_SCALE for v in s[4:7]] for s in samples],
        "gyr_radps": [[v / GYR_SCALE for v in s[7:10]] for s in samples],
    }


def samples(first, n):
    return [sample(k) for k in range(first, first + n)]


def data_vectors():
    v = [
        data_vector("n1", "one sample (the smallest DATA packet, 36 bytes), 100 Hz",
                    1, 11, 1_000_000, 10000, 0, 0, samples(0, 1)),
        data_vector("n4_mtu23", "four samples, the packet a device sends at ATT MTU 23 "
                    "(96 bytes, 6 segments), 200 Hz, at rest",
                    0x1234, 0xABCD, 123_456_789, 5000, 0, FLAGS["AT_REST"], samples(1, 4)),
        data_vector("n11_max", "eleven samples, the largest packet (236 bytes, fits MTU 247)",
                    700, 7700, 38_500_000, 5000, 2, 0, samples(5, 11)),
        data_vector("seq_wrap", "seq and sample_seq at 65535: the next packet carries 0 "
                    "and 1 (sample_seq + n wraps)",
                    65535, 65535, 655_350_000, 10000, 0, 0, samples(16, 2)),
        data_vector("t_us_near_wrap", "t_us 0xFFFFFFF0: the 2nd and 3rd samples are taken "
                    "after the device clock wraps to 0",
                    4000, 40000, 0xFFFFFFF0, 5000, 0, 0, samples(18, 3)),
    ]
    for i, (flag, bit) in enumerate(FLAGS.items()):
        v.append(data_vector("flag_" + flag.lower(), f"only the {flag} flag (0x{bit:02x})",
                             100 + i, 1000 + i, 2_000_000 + 10000 * i, 10000, 0, bit,
                             samples(21 + i, 1)))
    v.append(data_vector("flags_all", "all six defined flags set (0x3f)",
                         200, 2000, 3_000_000, 10000, 0, 0x3F, samples(27, 1)))
    v.append(data_vector(
        "extreme_i16", "i16 extremes in every field: -32768 (-2, -128 m/s^2, -32 rad/s) and "
        "32767; clipped samples carry the CLIPPING flag",
        300, 3000, 4_000_000, 5000, 0, FLAGS["CLIPPING"],
        [[-32768] * 10, [32767] * 10, [-32768, 32767] * 5, [0, -1, 1, -32767] + [0] * 6]))
    for period_us, hz in ((5000, 200), (10000, 100), (20000, 50)):
        v.append(data_vector(f"rate_{hz}hz", f"period_us {period_us} ({hz} Hz)",
                             400, 4000, 5_000_000, period_us, 0, 0, samples(31, 2)))
    v.append(data_vector("dropped_65535", "dropped counter at 65535 (a device that has "
                         "dropped 65535 packets since boot)",
                         500, 5000, 6_000_000, 10000, 65535, 0, samples(33, 1)))
    v.append(data_vector("dropped_wrapped", "the packet after dropped_65535 with one more "
                         "dropped packet: seq +2, dropped wrapped to 0 ((0 - 65535) mod "
                         "65536 = 1 dropped at the device)",
                         502, 5002, 6_020_000, 10000, 0, 0, samples(34, 1)))
    v.append(data_vector("all_zero", "every field 0 but the period (the packet holds many "
                         "zero bytes)", 0, 0, 0, 1, 0, 0, [[0] * 10]))
    v.append(data_vector("minor_version_1_1", "version 0x11 (1.1): a receiver of 1.0 "
                         "accepts any minor version of major 1 (SPEC 2)",
                         600, 6000, 7_000_000, 10000, 0, 0, samples(35, 1), version=0x11))
    v.append(data_vector("reserved_flag_bits", "reserved flag bits 6 and 7 set with AT_REST: "
                         "the packet is accepted and flags decode as the raw byte 0xc2; "
                         "the reserved bits carry no meaning",
                         601, 6001, 7_010_000, 10000, 0, 0xC2, samples(36, 1)))
    return v


def data_invalid_vectors():
    good = data_packet(10, 100, 1_000_000, 10000, 0, 0, samples(0, 4))
    one = data_packet(11, 104, 1_040_000, 10000, 0, 0, samples(4, 1))

    def bad(name, description, packet, result="BAD_PACKET"):
        return {"name": name, "description": description, "hex": packet.hex(),
                "result": result}

    return [
        bad("n4_one_byte_short", "n=4 but 95 bytes (needs 96)", good[:-1]),
        bad("n4_one_byte_long", "n=4 but 97 bytes (needs 96)", good + b"\x00"),
        bad("n1_with_n4_length", "n=1 in a 96-byte packet",
            data_packet(10, 100, 1_000_000, 10000, 0, 0, samples(0, 4), n=1)),
        bad("n0", "n=0: a header alone is not a DATA packet",
            data_packet(10, 100, 1_000_000, 10000, 0, 0, [])),
        bad("n12", "n=12 with 12 samples (256 bytes): at most 11",
            data_packet(10, 100, 1_000_000, 10000, 0, 0, samples(0, 12))),
        bad("n255", "n=255 in a 36-byte packet",
            data_packet(10, 100, 1_000_000, 10000, 0, 0, samples(0, 1), n=255)),
        bad("ptype_command", "a valid DATA layout with ptype 0x02 (COMMAND)",
            data_packet(11, 104, 1_040_000, 10000, 0, 0, samples(4, 1),
                        ptype=PTYPE["COMMAND"])),
        bad("ptype_unknown", "a valid DATA layout with ptype 0x7f",
            data_packet(11, 104, 1_040_000, 10000, 0, 0, samples(4, 1), ptype=0x7F)),
        bad("version_2_0", "version 0x20: another major version is not decoded",
            data_packet(11, 104, 1_040_000, 10000, 0, 0, samples(4, 1), version=0x20),
            "UNSUPPORTED_VERSION"),
        bad("version_2_0_other_layout", "version 0x20 with a length that is wrong for 1.0: "
            "the version is checked before the layout",
            data_packet(11, 104, 1_040_000, 10000, 0, 0, samples(4, 1), version=0x20)
            + b"\x01\x02\x03", "UNSUPPORTED_VERSION"),
        bad("version_0_0", "version 0x00: major 0 is not 1",
            data_packet(11, 104, 1_040_000, 10000, 0, 0, samples(4, 1), version=0x00),
            "UNSUPPORTED_VERSION"),
        bad("period_0", "period_us 0", data_packet(11, 104, 1_040_000, 0, 0, 0, samples(4, 1))),
        bad("truncated_header", "the first 15 bytes of a packet", one[:15]),
        bad("two_bytes", "ptype and version only", one[:2]),
        bad("empty", "no bytes at all", b""),
    ]


# --- COMMAND vectors --------------------------------------------------------------
def command_vector(name, description, token, opcode, args=b"", values=None,
                   result="OK", rejected_by=None, version=VERSION):
    if isinstance(opcode, str):
        opcode = OPCODES[opcode]
    packet = command_packet(token, opcode, args, version=version)
    return {
        "name": name,
        "description": description,
        "hex": packet.hex(),
        "version": version,
        "token": token,
        "opcode": opcode,
        "opcode_name": OPCODE_NAMES.get(opcode),
        "args_hex": args.hex(),
        "args": values if result == "OK" else None,
        "result": result,
        "rejected_by": rejected_by,
    }


def bad_args(name, description, token, opcode, args, result):
    return command_vector(name, description, token, opcode, args, result=result,
                          rejected_by="check_args")


def q14(*q):
    return b"".join(i16(v) for v in q)


def command_vectors():
    name11 = "sacrum-7F3A"
    utf8_name = "bäcken-β"
    v = [
        command_vector("hello", "HELLO offering versions 1.0 to 1.15", 1, "HELLO",
                       u8(0x10) + u8(0x1F), [0x10, 0x1F]),
        command_vector("hello_single_version", "HELLO offering 1.0 only", 2, "HELLO",
                       u8(0x10) + u8(0x10), [0x10, 0x10]),
        command_vector("start_stream", "START_STREAM", 3, "START_STREAM", b"", []),
        command_vector("stop_stream", "STOP_STREAM", 4, "STOP_STREAM", b"", []),
        command_vector("set_rate_50", "SET_RATE 50 Hz", 5, "SET_RATE", u16(50), [50]),
        command_vector("set_rate_100", "SET_RATE 100 Hz", 6, "SET_RATE", u16(100), [100]),
        command_vector("set_rate_200", "SET_RATE 200 Hz", 7, "SET_RATE", u16(200), [200]),
        command_vector("calibrate_gyro_default", "CALIBRATE_GYRO 0 ms (device uses 2000)",
                       8, "CALIBRATE_GYRO", u16(0), [0]),
        command_vector("calibrate_gyro_5000", "CALIBRATE_GYRO 5000 ms", 9, "CALIBRATE_GYRO",
                       u16(5000), [5000]),
        command_vector("set_mounting_zero_pose", "SET_MOUNTING with no arguments: take the "
                       "current orientation as the zero pose", 10, "SET_MOUNTING", b"", []),
        command_vector("set_mounting_identity", "SET_MOUNTING q_sensor_to_body = identity",
                       11, "SET_MOUNTING", q14(16384, 0, 0, 0), [16384, 0, 0, 0]),
        command_vector("set_mounting_z90", "SET_MOUNTING 90 deg about z (Q14 round(16384 / "
                       "sqrt 2) = 11585)", 12, "SET_MOUNTING", q14(11585, 0, 0, 11585),
                       [11585, 0, 0, 11585]),
        command_vector("set_mounting_y_minus90", "SET_MOUNTING -90 deg about y (negative "
                       "component)", 13, "SET_MOUNTING", q14(11585, 0, -11585, 0),
                       [11585, 0, -11585, 0]),
        command_vector("identify_default", "IDENTIFY 0 s (device uses 5)", 14, "IDENTIFY",
                       u8(0), [0]),
        command_vector("identify_10", "IDENTIFY 10 s", 15, "IDENTIFY", u8(10), [10]),
        command_vector("get_status", "GET_STATUS", 16, "GET_STATUS", b"", []),
        command_vector("set_name", "SET_NAME of 11 ASCII bytes", 17, "SET_NAME",
                       name11.encode(), [name11]),
        command_vector("set_name_1_byte", "SET_NAME of 1 byte (the shortest)", 18, "SET_NAME",
                       b"s", ["s"]),
        command_vector("set_name_20_bytes", "SET_NAME of 20 bytes (the longest)", 19,
                       "SET_NAME", b"sacrum-pelvis-0123ab", ["sacrum-pelvis-0123ab"]),
        command_vector("set_name_utf8", "SET_NAME with 2-byte UTF-8 characters "
                       "(8 characters, 10 bytes)", 20, "SET_NAME", utf8_name.encode(),
                       [utf8_name]),
        command_vector("reboot", "REBOOT", 21, "REBOOT", b"", []),
        command_vector("set_link_ble", "SET_LINK 0 (BLE)", 22, "SET_LINK", u8(0), [0]),
        command_vector("set_link_serial", "SET_LINK 1 (USB serial)", 23, "SET_LINK", u8(1),
                       [1]),
        command_vector("token_0", "token 0", 0, "GET_STATUS", b"", []),
        command_vector("token_255", "token 255", 255, "START_STREAM", b"", []),
        command_vector("minor_version_1_1", "a 1.1 command: accepted (any minor version of "
                       "major 1)", 24, "STOP_STREAM", b"", [], version=0x11),
        # arguments check_args must refuse
        bad_args("hello_short", "HELLO with 1 argument byte", 30, "HELLO", u8(0x10),
                 "BAD_LENGTH"),
        bad_args("hello_empty_range", "HELLO with min 1.15 > max 1.0", 31, "HELLO",
                 u8(0x1F) + u8(0x10), "BAD_VALUE"),
        bad_args("start_stream_with_arg", "START_STREAM with 1 argument byte", 32,
                 "START_STREAM", u8(1), "BAD_LENGTH"),
        bad_args("stop_stream_with_arg", "STOP_STREAM with 2 argument bytes", 33,
                 "STOP_STREAM", u16(0), "BAD_LENGTH"),
        bad_args("set_rate_150", "SET_RATE 150 Hz (not 50, 100 or 200)", 34, "SET_RATE",
                 u16(150), "BAD_VALUE"),
        bad_args("set_rate_0", "SET_RATE 0 Hz", 35, "SET_RATE", u16(0), "BAD_VALUE"),
        bad_args("set_rate_1_byte", "SET_RATE with 1 argument byte (100 as u8)", 36,
                 "SET_RATE", u8(100), "BAD_LENGTH"),
        bad_args("set_rate_3_bytes", "SET_RATE with 3 argument bytes", 37, "SET_RATE",
                 u16(100) + u8(0), "BAD_LENGTH"),
        bad_args("calibrate_gyro_short", "CALIBRATE_GYRO with 1 argument byte", 38,
                 "CALIBRATE_GYRO", u8(0), "BAD_LENGTH"),
        bad_args("calibrate_gyro_none", "CALIBRATE_GYRO with no arguments", 39,
                 "CALIBRATE_GYRO", b"", "BAD_LENGTH"),
        bad_args("set_mounting_4_bytes", "SET_MOUNTING with 4 bytes (0 or 8 allowed)", 40,
                 "SET_MOUNTING", q14(16384, 0), "BAD_LENGTH"),
        bad_args("set_mounting_9_bytes", "SET_MOUNTING with 9 bytes", 41, "SET_MOUNTING",
                 q14(16384, 0, 0, 0) + u8(0), "BAD_LENGTH"),
        bad_args("set_mounting_not_unit", "SET_MOUNTING (1, 1, 0, 0): norm sqrt 2", 42,
                 "SET_MOUNTING", q14(16384, 16384, 0, 0), "BAD_VALUE"),
        bad_args("set_mounting_zero", "SET_MOUNTING (0, 0, 0, 0)", 43, "SET_MOUNTING",
                 q14(0, 0, 0, 0), "BAD_VALUE"),
        bad_args("identify_2_bytes", "IDENTIFY with 2 argument bytes", 44, "IDENTIFY",
                 u16(5), "BAD_LENGTH"),
        bad_args("get_status_with_arg", "GET_STATUS with 1 argument byte", 45, "GET_STATUS",
                 u8(0), "BAD_LENGTH"),
        bad_args("set_name_empty", "SET_NAME with no bytes", 46, "SET_NAME", b"",
                 "BAD_LENGTH"),
        bad_args("set_name_21_bytes", "SET_NAME of 21 bytes", 47, "SET_NAME",
                 b"sacrum-pelvis-0123abc", "BAD_LENGTH"),
        bad_args("set_name_invalid_utf8", "SET_NAME containing byte 0xff", 48, "SET_NAME",
                 b"sacrum\xff", "BAD_VALUE"),
        bad_args("set_name_truncated_utf8", "SET_NAME ending in half of a 2-byte "
                 "character", 49, "SET_NAME", b"ab" + "ä".encode()[:1], "BAD_VALUE"),
        bad_args("reboot_with_arg", "REBOOT with 1 argument byte", 50, "REBOOT", u8(1),
                 "BAD_LENGTH"),
        bad_args("set_link_2", "SET_LINK 2 (only 0 BLE and 1 serial exist)", 51, "SET_LINK",
                 u8(2), "BAD_VALUE"),
        bad_args("set_link_2_bytes", "SET_LINK with 2 argument bytes", 52, "SET_LINK",
                 u16(1), "BAD_LENGTH"),
        bad_args("unknown_opcode_0x7f", "opcode 0x7f", 53, 0x7F, b"", "UNKNOWN_OPCODE"),
        bad_args("unknown_opcode_0x00", "opcode 0x00", 54, 0x00, b"", "UNKNOWN_OPCODE"),
        bad_args("unknown_opcode_0x0d", "opcode 0x0d, the first one in no version (1.1 "
                 "adds 0x0c SECURITY: vectors/v1_1/commands.json)", 55, 0x0D, u8(1),
                 "UNKNOWN_OPCODE"),
    ]

    def bad_packet(name, description, packet, result="BAD_PACKET"):
        return {"name": name, "description": description, "hex": packet.hex(),
                "result": result, "rejected_by": "decode_command"}

    v += [
        bad_packet("empty", "no bytes", b""),
        bad_packet("three_bytes", "ptype, version and token without an opcode",
                   command_packet(60, 0x03)[:3]),
        bad_packet("ptype_data", "a COMMAND layout with ptype 0x01 (DATA)",
                   command_packet(61, 0x03, ptype=PTYPE["DATA"])),
        bad_packet("ptype_response", "a COMMAND layout with ptype 0x03 (RESPONSE)",
                   command_packet(62, 0x03, ptype=PTYPE["RESPONSE"])),
        bad_packet("version_2_0", "a STOP_STREAM of version 0x20",
                   command_packet(63, 0x03, version=0x20), "UNSUPPORTED_VERSION"),
    ]
    return v


# --- RESPONSE vectors -------------------------------------------------------------
def response_vector(name, description, token, opcode, result, payload=b"", values=None,
                    status=None, status_name=None, version=VERSION):
    if isinstance(opcode, str):
        opcode = OPCODES[opcode]
    packet = response_packet(token, opcode, RESULTS[result], payload, version=version)
    v = {
        "name": name,
        "description": description,
        "hex": packet.hex(),
        "version": version,
        "token": token,
        "opcode": opcode,
        "opcode_name": OPCODE_NAMES.get(opcode),
        "result": RESULTS[result],
        "result_name": result,
        "payload_hex": payload.hex(),
        "payload": values if values is not None else [],
        "rejected_by": None,
    }
    if status is not None:
        v["payload"] = None
        v["status"] = status
        v["status_name"] = status_name
    return v


STATUS_STREAMING = {
    "fw_major": 1, "fw_minor": 0, "fw_patch": 2, "protocol_version": 0x10,
    "imu_type": 2, "fault": 0, "flags": 0x02, "streaming": 1, "rate_hz": 100,
    "battery_mv": 3987, "battery_pct": 76, "link": 0, "uptime_s": 86461,
    "dropped_packets": 3,
}
STATUS_EDGES = {
    "fw_major": 255, "fw_minor": 254, "fw_patch": 253, "protocol_version": 0x1F,
    "imu_type": 255, "fault": 3, "flags": 0x3F, "streaming": 0, "rate_hz": 200,
    "battery_mv": 0, "battery_pct": 255, "link": 1, "uptime_s": 0xFFFFFFFF,
    "dropped_packets": 70000,
}
STATUS_NO_IMU = {
    "fw_major": 1, "fw_minor": 0, "fw_patch": 0, "protocol_version": 0x10,
    "imu_type": 0, "fault": 1, "flags": 0x20, "streaming": 0, "rate_hz": 50,
    "battery_mv": 4200, "battery_pct": 100, "link": 0, "uptime_s": 12,
    "dropped_packets": 0,
}


def status_vector(name, description, token, status, device_name):
    record = status_record(status, device_name.encode())
    return response_vector(name, description, token, "GET_STATUS", "OK", record,
                           status=status, status_name=device_name)


def response_vectors():
    v = [
        response_vector("hello_ok", "HELLO answered with chosen 1.0, device range 1.0-1.15",
                        1, "HELLO", "OK", u8(0x10) + u8(0x10) + u8(0x1F), [0x10, 0x10, 0x1F]),
        response_vector("hello_unsupported_version", "HELLO from a 2.x-only host: no "
                        "overlap, payload (0, device_min, device_max) (SPEC 2.3)", 2, "HELLO",
                        "UNSUPPORTED_VERSION", u8(0) + u8(0x10) + u8(0x1F), [0, 0x10, 0x1F]),
        response_vector("start_stream_ok", "START_STREAM done", 3, "START_STREAM", "OK"),
        response_vector("stop_stream_ok", "STOP_STREAM done", 4, "STOP_STREAM", "OK"),
        response_vector("set_rate_ok", "SET_RATE 100 done, echoes the rate", 5, "SET_RATE",
                        "OK", u16(100), [100]),
        response_vector("set_rate_busy", "SET_RATE while streaming", 6, "SET_RATE", "BUSY"),
        response_vector("set_rate_bad_value", "SET_RATE 150", 7, "SET_RATE", "BAD_VALUE"),
        response_vector("calibrate_gyro_ok", "CALIBRATE_GYRO done: bias (-12, 7, 3) / 1024 "
                        "rad/s", 8, "CALIBRATE_GYRO", "OK", i16(-12) + i16(7) + i16(3),
                        [-12, 7, 3]),
        response_vector("calibrate_gyro_extremes", "CALIBRATE_GYRO bias at the i16 extremes",
                        9, "CALIBRATE_GYRO", "OK", i16(-32768) + i16(32767) + i16(0),
                        [-32768, 32767, 0]),
        response_vector("calibrate_gyro_not_at_rest", "CALIBRATE_GYRO while moving", 10,
                        "CALIBRATE_GYRO", "NOT_AT_REST"),
        response_vector("calibrate_gyro_failed", "CALIBRATE_GYRO with a hardware fault", 11,
                        "CALIBRATE_GYRO", "FAILED"),
        response_vector("set_mounting_ok", "SET_MOUNTING done: stored q_sensor_to_body "
                        "(90 deg about z)", 12, "SET_MOUNTING", "OK", q14(11585, 0, 0, 11585),
                        [11585, 0, 0, 11585]),
        response_vector("set_mounting_ok_negative", "SET_MOUNTING done: stored "
                        "q_sensor_to_body with negative components", 13, "SET_MOUNTING", "OK",
                        q14(-11585, 0, 11585, 0), [-11585, 0, 11585, 0]),
        response_vector("identify_ok", "IDENTIFY done", 14, "IDENTIFY", "OK"),
        status_vector("get_status_streaming", "GET_STATUS: fw 1.0.2, MPU-6500, streaming at "
                      "100 Hz on BLE, at rest, 3987 mV / 76 %, named", 15, STATUS_STREAMING,
                      "sacrum-7F3A"),
        status_vector("get_status_no_name", "GET_STATUS with an empty name (22-byte record)",
                      16, STATUS_NO_IMU, ""),
        status_vector("get_status_edges", "GET_STATUS with every field at an edge: battery "
                      "unknown (0 mV, 255 %), IMU 'other', config reset, serial link, "
                      "uptime 2^32-1, a 20-byte name", 17, STATUS_EDGES,
                      "sacrum-pelvis-0123ab"),
        status_vector("get_status_utf8_name", "GET_STATUS with a UTF-8 name", 18,
                      STATUS_STREAMING, "bäcken-β"),
        response_vector("set_name_ok", "SET_NAME done", 19, "SET_NAME", "OK"),
        response_vector("set_name_bad_length", "SET_NAME of 21 bytes", 20, "SET_NAME",
                        "BAD_LENGTH"),
        response_vector("reboot_ok", "REBOOT accepted (sent before rebooting)", 21, "REBOOT",
                        "OK"),
        response_vector("set_link_ok", "SET_LINK done: link 1 (serial)", 22, "SET_LINK", "OK",
                        u8(1), [1]),
        response_vector("unknown_opcode", "answer to opcode 0x7f", 23, 0x7F, "UNKNOWN_OPCODE"),
        response_vector("bad_packet", "answer to a command too short to carry its header: "
                        "token and opcode 0", 0, 0x00, "BAD_PACKET"),
        response_vector("unsupported_version_command", "answer to a 2.0 STOP_STREAM: token "
                        "and opcode copied", 25, "STOP_STREAM", "UNSUPPORTED_VERSION"),
        response_vector("busy_start_stream", "START_STREAM refused as BUSY", 255,
                        "START_STREAM", "BUSY"),
        response_vector("minor_version_1_1", "a 1.1 response: accepted", 26, "SET_LINK", "OK",
                        u8(0), [0], version=0x11),
    ]

    def bad(name, description, packet, result="BAD_PACKET", rejected_by="decode_response"):
        return {"name": name, "description": description, "hex": packet.hex(),
                "result": result, "rejected_by": rejected_by}

    status = status_record(STATUS_STREAMING, b"sacrum-7F3A")
    v += [
        bad("empty", "no bytes", b""),
        bad("four_bytes", "a response without its result byte",
            response_packet(30, OPCODES["GET_STATUS"], 0)[:4]),
        bad("ptype_command", "a RESPONSE layout with ptype 0x02 (COMMAND)",
            response_packet(31, OPCODES["STOP_STREAM"], 0, ptype=PTYPE["COMMAND"])),
        bad("version_2_0", "a response of version 0x20",
            response_packet(32, OPCODES["STOP_STREAM"], 0, version=0x20),
            "UNSUPPORTED_VERSION"),
        bad("status_21_bytes", "GET_STATUS OK whose status record is 21 bytes",
            response_packet(33, OPCODES["GET_STATUS"], 0, status[:21]),
            rejected_by="unpack_status"),
        bad("status_name_21_bytes", "GET_STATUS OK with a 21-byte name (43-byte record)",
            response_packet(34, OPCODES["GET_STATUS"], 0,
                            status_record(STATUS_STREAMING, b"sacrum-pelvis-0123abc")),
            rejected_by="unpack_status"),
        bad("status_name_invalid_utf8", "GET_STATUS OK with byte 0xff in the name",
            response_packet(35, OPCODES["GET_STATUS"], 0,
                            status_record(STATUS_STREAMING, b"sacrum\xff")),
            rejected_by="unpack_status"),
    ]
    return v


# --- SEGMENT vectors --------------------------------------------------------------
def segmentation_vector(name, description, packet, mtu, tag):
    segs = segments(packet, mtu, tag)
    return {"name": name, "description": description, "kind": "segmentation",
            "hex": packet.hex(), "mtu": mtu, "tag": tag,
            "segments": [s.hex() for s in segs]}


def reassembly_vector(name, description, notifications, outputs, incomplete):
    assert len(notifications) == len(outputs)
    return {"name": name, "description": description, "kind": "reassembly",
            "hex": b"".join(notifications).hex(),
            "notifications": [n.hex() for n in notifications],
            "outputs": [o.hex() if isinstance(o, bytes) else o for o in outputs],
            "incomplete": incomplete}


def segment_vectors():
    n4 = data_packet(0x1234, 0xABCD, 123_456_789, 5000, 0, FLAGS["AT_REST"], samples(1, 4))
    n4b = data_packet(0x1235, 0xABD1, 123_476_789, 5000, 0, FLAGS["AT_REST"], samples(5, 4))
    n11 = data_packet(700, 7700, 38_500_000, 5000, 2, 0, samples(5, 11))
    n1 = data_packet(1, 11, 1_000_000, 10000, 0, 0, samples(0, 1))
    status = response_packet(15, OPCODES["GET_STATUS"], 0,
                             status_record(STATUS_STREAMING, b"sacrum-7F3A"))
    rate_ok = response_packet(5, OPCODES["SET_RATE"], 0, u16(100))
    v = [
        segmentation_vector("data_n4_mtu23", "4-sample DATA (96 bytes) at MTU 23: 6 segments "
                            "of 20 bytes, 16 packet bytes each", n4, 23, 0),
        segmentation_vector("data_n4_mtu23_tag255", "the same at tag 255 (the tag after it "
                            "is 0)", n4, 23, 255),
        segmentation_vector("data_n11_mtu247", "11-sample DATA (236 bytes) at MTU 247: one "
                            "notification, not segmented", n11, 247, 0),
        segmentation_vector("data_n11_mtu23", "11-sample DATA at MTU 23: 15 segments, the "
                            "last with 12 bytes", n11, 23, 7),
        segmentation_vector("data_n1_mtu39_fits", "36-byte DATA at MTU 39: exactly fits one "
                            "notification (36 = 39 - 3)", n1, 39, 0),
        segmentation_vector("data_n1_mtu38_segmented", "36-byte DATA at MTU 38: one byte too "
                            "long, 2 segments of 31 + 5 bytes", n1, 38, 1),
        segmentation_vector("status_response_mtu23", "GET_STATUS response (38 bytes) at MTU "
                            "23: 3 segments, the last with 6 bytes", status, 23, 42),
        segmentation_vector("status_response_mtu247", "GET_STATUS response at MTU 247: not "
                            "segmented", status, 247, 43),
        segmentation_vector("small_response_mtu23", "SET_RATE response (7 bytes) at MTU 23: "
                            "not segmented", rate_ok, 23, 0),
    ]
    s4 = segments(n4, 23, 0)
    s4b = segments(n4b, 23, 1)
    bad_version = b"\x04\x20" + s4[0][2:]
    v += [
        reassembly_vector("missing_middle_segment", "segment 2 of 6 is lost: the packet is "
                          "lost (counted incomplete); the next packet reassembles",
                          s4[:2] + s4[3:] + s4b, [None] * 10 + [n4b], 1),
        reassembly_vector("missing_last_segment", "the last segment is lost: the next first "
                          "segment abandons the packet", s4[:5] + s4b, [None] * 10 + [n4b], 1),
        reassembly_vector("repeated_segment", "segment 1 arrives twice: out of order, the "
                          "packet is lost", s4[:2] + s4[1:], [None] * 7, 1),
        reassembly_vector("unsegmented_interrupts", "an unsegmented value between segments "
                          "is passed through and the partial packet is lost",
                          s4[:3] + [rate_ok] + s4b,
                          [None, None, None, rate_ok, None, None, None, None, None, n4b], 1),
        reassembly_vector("interleaved_passthrough", "unsegmented values pass through "
                          "unchanged", [n1, rate_ok], [n1, rate_ok], 0),
        reassembly_vector("segment_version_2_0", "a first segment of version 0x20",
                          [bad_version], [{"error": "UNSUPPORTED_VERSION"}], 0),
        reassembly_vector("segment_too_short", "a 3-byte SEGMENT (no index byte)",
                          [s4[0][:3]], [{"error": "BAD_PACKET"}], 0),
    ]
    return v


# --- serial frame vectors ---------------------------------------------------------
def frame_vector(name, description, packet):
    return {"name": name, "description": description, "kind": "frame",
            "hex": frame(packet).hex(), "packet_hex": packet.hex(), "crc16": crc16(packet)}


def nonzero_bytes(count, salt):
    """``count`` non-zero bytes whose CRC-16 has no zero byte (so a run stays unbroken)."""
    while True:
        data = bytes((i * 7 + salt) % 255 + 1 for i in range(count))
        crc = crc16(data)
        if crc & 0xFF and crc >> 8:
            return data
        salt += 1


def frame_vectors():
    n1 = data_packet(1, 11, 1_000_000, 10000, 0, 0, samples(0, 1))
    set_rate = command_packet(6, OPCODES["SET_RATE"], u16(100))
    status = response_packet(15, OPCODES["GET_STATUS"], 0,
                             status_record(STATUS_STREAMING, b"sacrum-7F3A"))
    zeros = data_packet(0, 0, 0, 1, 0, 0, [[0] * 10])
    v = [
        {"name": "crc_check_value", "description": "CRC-16/CCITT-FALSE of ASCII '123456789'",
         "kind": "crc", "hex": b"123456789".hex(), "crc16": 0x29B1},
        {"name": "crc_empty", "description": "CRC of no bytes is the initial value",
         "kind": "crc", "hex": "", "crc16": 0xFFFF},
        frame_vector("data_n1", "1-sample DATA packet", n1),
        frame_vector("command_set_rate", "SET_RATE 100 command (100 = 64 00: a zero byte)",
                     set_rate),
        frame_vector("response_get_status", "GET_STATUS response", status),
        frame_vector("data_zeros", "DATA packet that is mostly zero bytes", zeros),
        frame_vector("one_byte", "a 1-byte packet (framing does not look inside)", b"\x05"),
        frame_vector("zero_byte", "a packet that is a single zero byte", b"\x00"),
    ]
    assert 0 not in nonzero_bytes(253, 0)
    for count, what in ((252, "254 non-zero bytes with the CRC, ending the frame: a 0xFF "
                         "block then a final 0x01 block"),
                        (251, "253 non-zero bytes with the CRC: one block just under 0xFF"),
                        (253, "255 non-zero bytes with the CRC: a 0xFF block and a 2-byte "
                         "block"),
                        (300, "302 non-zero bytes with the CRC: runs longer than one block")):
        v.append(frame_vector(f"run_{count}", f"{count} non-zero packet bytes: {what} (the "
                              "packet is longer than any 1.0 packet; framing does not look "
                              "inside)", nonzero_bytes(count, count)))
    run254_zero = nonzero_bytes(254, 1) + b"\x00" + nonzero_bytes(10, 2)
    v.append(frame_vector("run_254_then_zero", "254 non-zero bytes then a zero: a 0xFF block "
                          "followed by a block for the zero", run254_zero))
    max_packet = nonzero_bytes(507, 3)
    assert len(frame(max_packet)) == 513
    v.append(frame_vector("max_size", "the longest frame: 512 bytes before the delimiter "
                          "(507 non-zero packet bytes)", max_packet))

    def corrupt(name, description, data):
        return {"name": name, "description": description, "kind": "corrupt",
                "hex": data.hex(), "result": "BAD_PACKET"}

    good = frame(n1)[:-1]
    flipped = bytearray(good)
    flipped[10] ^= 0x01
    assert crc16(n1) >> 8 != crc16(n1) & 0xFF
    swapped_crc = cobs_encode(n1 + crc16(n1).to_bytes(2, "big"))
    oversize = nonzero_bytes(508, 4)
    v += [
        corrupt("flipped_bit", "data_n1 with one bit of byte 10 flipped: CRC mismatch",
                bytes(flipped)),
        corrupt("crc_big_endian", "data_n1 with its CRC appended big-endian", swapped_crc),
        corrupt("cobs_code_past_end", "data_n1 whose first COBS code points past the end",
                b"\xff" + good[1:]),
        corrupt("cobs_zero_inside", "a zero byte inside the frame (as if the delimiter were "
                "not split off)", good[:5] + b"\x00" + good[5:]),
        corrupt("empty", "no bytes", b""),
        corrupt("crc_only", "the CRC of an empty packet (FF FF) and no packet",
                cobs_encode(u16(crc16(b"")))),
        corrupt("truncated", "data_n1 missing its last byte", good[:-1]),
        corrupt("oversize", "a valid COBS + CRC encoding 513 bytes long (longer than 512)",
                frame(oversize)[:-1]),
    ]

    f1, f2, f3 = frame(n1), frame(set_rate), frame(status)
    garbage = bytes(range(0x41, 0x41 + 9))  # tail of a frame joined mid-way

    def stream(name, description, data, frames, packets, oversize_count=0):
        return {"name": name, "description": description, "kind": "stream",
                "hex": data.hex(), "frames": [f.hex() for f in frames],
                "packets": [p.hex() if isinstance(p, bytes) else p for p in packets],
                "oversize": oversize_count}

    v += [
        stream("three_frames", "three frames back to back", f1 + f2 + f3,
               [f1[:-1], f2[:-1], f3[:-1]], [n1, set_rate, status]),
        stream("flush_and_empty_frames", "a leading 0x00 (flush) and two 0x00 in a row "
               "between frames: empty frames are ignored", b"\x00" + f1 + b"\x00" + f2,
               [f1[:-1], f2[:-1]], [n1, set_rate]),
        stream("garbage_first", "joined mid-frame: the first 'frame' is corrupt, the next "
               "0x00 resyncs", garbage + b"\x00" + f1, [garbage, f1[:-1]],
               [{"error": "BAD_PACKET"}, n1]),
        stream("oversize_discarded", "600 bytes without a delimiter are discarded (counted "
               "oversize), then a frame", b"\x55" * 600 + b"\x00" + f2, [f2[:-1]],
               [set_rate], 1),
        stream("partial_tail", "a frame without its delimiter is not yet a frame",
               f1 + f2[:-1], [f1[:-1]], [n1]),
    ]
    return v


# --- 1.1: the status record's health block (SPEC 2.2) -----------------------------
STATUS_EXT_FIELDS = (  # after the 22 bytes of 1.0, before the name; all u16
    ("fault_events", u16), ("loop_load_permille", u16), ("step_max_ms", u16),
    ("gc_runs", u16), ("heap_free_kib", u16), ("irq_errors", u16),
)
VERSION_1_1 = 0x11


def status_1_1_vectors():
    """GET_STATUS answered in 1.1 (HELLO chose it): 22 bytes, 12 of health, name.
    A 1.0 reader of these gets a length error, never wrong values: 1.1 is only
    sent to a host that asked for it (SPEC 2.3)."""
    healed = dict(STATUS_STREAMING, protocol_version=VERSION_1_1, fault=5, flags=0x42)
    health = {"fault_events": 3, "loop_load_permille": 287, "step_max_ms": 14,
              "gc_runs": 65535, "heap_free_kib": 97, "irq_errors": 1}
    quiet = dict(STATUS_NO_IMU, protocol_version=VERSION_1_1)
    none = {key: 0 for key, _ in STATUS_EXT_FIELDS}
    out = []
    for name, description, token, status, ext, device_name in (
        ("get_status_1_1_healed", "GET_STATUS in 1.1 after 3 healed faults (latest: bus stuck), "
         "RECOVERED flag, 28.7 % load, GC counter wrapped", 70, healed, health, "sacrum-7F3A"),
        ("get_status_1_1_no_name", "GET_STATUS in 1.1, no IMU, empty name (34-byte record)",
         71, quiet, none, ""),
    ):
        record = (b"".join(enc(status[k]) for k, enc in STATUS_FIELDS)
                  + b"".join(enc(ext[k]) for k, enc in STATUS_EXT_FIELDS) + device_name.encode())
        v = response_vector(name, description, token, "GET_STATUS", "OK", record,
                            status=dict(status, **ext), status_name=device_name,
                            version=VERSION_1_1)
        out.append(v)
    bad = response_packet(72, OPCODES["GET_STATUS"], 0,
                          status_record(healed, b"sacrum")[:30], version=VERSION_1_1)
    out.append({"name": "status_1_1_short", "description": "a 1.1 status record of 30 bytes "
                "(the health block cut)", "hex": bad.hex(), "version": VERSION_1_1,
                "rejected_by": "unpack_status"})
    return out


# --- output -----------------------------------------------------------------------
def build():
    """Return {file name: list of vectors}."""
    return {
        "data.json": data_vectors(),
        "data_invalid.json": data_invalid_vectors(),
        "commands.json": command_vectors(),
        "responses.json": response_vectors(),
        "segments.json": segment_vectors(),
        "frames.json": frame_vectors(),
    }


def security_1_1_vectors():
    """SECURITY (0x0c) and NOT_BONDED (9), 1.1 (SPEC 2.2): commands a device takes only
    from a bonded, encrypted link, and the answer to anything else."""
    op = "SECURITY"
    out = [
        command_vector("security_off", "SECURITY 0: off from the next boot", 80, op, u8(0),
                       [0]),
        command_vector("security_on", "SECURITY 1: on from the next boot", 81, op, u8(1), [1]),
        command_vector("security_forget_bonds", "SECURITY 2: forget every bond", 82, op,
                       u8(2), [2]),
        bad_args("security_3", "SECURITY 3 (only 0, 1, 2 exist)", 83, op, u8(3), "BAD_VALUE"),
        bad_args("security_no_arg", "SECURITY without its byte", 84, op, b"", "BAD_LENGTH"),
        response_vector("security_ok", "SECURITY 2 done", 85, op, "OK", u8(2), [2]),
        response_vector("not_bonded", "a command from a link that is not bonded and "
                        "encrypted (START_STREAM here)", 86, "START_STREAM", "NOT_BONDED"),
    ]
    return out


def build_1_1():
    """{file name under vectors/v1_1/: vectors} -- 1.1 only, apart so that 1.0
    readers of vectors/*.json see exactly the 1.0 set."""
    security = security_1_1_vectors()
    return {"status.json": status_1_1_vectors(),
            "commands.json": [v for v in security if v["hex"][:2] == "02"],
            "responses.json": [v for v in security if v["hex"][:2] == "03"]}


# --- 1.2: the BIAS packet (SPEC 2.5) ---------------------------------------------
PTYPE_BIAS = 0x05
VERSION_1_2 = 0x12
BIAS_SCALE = 1 << 24  # rad/s = raw / 2^24 (Q24)


def i32(v):
    return v.to_bytes(4, "little", signed=True)


def bias_packet(sample_seq, bias_q24, version=VERSION_1_2, ptype=PTYPE_BIAS):
    """SPEC 2.5, field by field: ptype, version, u16 sample_seq, i32 x3 bias (Q24)."""
    return u8(ptype) + u8(version) + u16(sample_seq) + b"".join(i32(b) for b in bias_q24)


def bias_1_2_vectors():
    """BIAS packets (1.2): the gyro bias the device takes off DATA's rate from
    ``sample_seq`` on. A 1.0 or 1.1 receiver counts them as an unknown packet type
    and skips them (SPEC 2): ``to_1_1_receiver`` says so."""
    out = []
    for name, description, sseq, bias in (
        ("bias_zero_at_start", "the first BIAS of a stream: no bias learnt yet", 0, (0, 0, 0)),
        ("bias_first_rest", "after the first rest: about 0.8 deg/s about x", 417,
         (233_973, -41_220, 7_919)),
        ("bias_sample_seq_wraps", "sample_seq 65535 (the counter wraps next)", 65535,
         (-1, 1, -2)),
        ("bias_device_limits", "the firmware's clamp, +-5 deg/s (0.0873 rad/s) per axis",
         12_000, (1_464_086, -1_464_086, 1_464_086)),
        ("bias_format_limits", "the largest magnitude a receiver accepts: 2^28 - 1 "
         "(16 rad/s)", 1, ((1 << 28) - 1, -((1 << 28) - 1), 0)),
    ):
        out.append({"name": name, "description": description,
                    "hex": bias_packet(sseq, bias).hex(), "sample_seq": sseq,
                    "bias_q24": list(bias), "bias_radps": [b / BIAS_SCALE for b in bias],
                    "to_1_1_receiver": "unknown packet type"})
    good = bias_packet(417, (233_973, -41_220, 7_919))
    for name, description, packet, result in (
        ("bias_short", "15 bytes: the last byte cut", good[:-1], "BAD_PACKET"),
        ("bias_long", "17 bytes: a byte too many", good + b"\x00", "BAD_PACKET"),
        ("bias_out_of_range", "a bias of 2^28/2^24 = 16 rad/s: no gyroscope's bias",
         bias_packet(5, (1 << 28, 0, 0)), "BAD_PACKET"),
        ("bias_out_of_range_negative", "a bias of -16 rad/s", bias_packet(5, (0, 0, -(1 << 28))),
         "BAD_PACKET"),
        ("bias_major_2", "version 2.0: not decoded, counted as unsupported",
         bias_packet(417, (1, 2, 3), version=0x20), "UNSUPPORTED_VERSION"),
        ("bias_major_2_short", "version 2.0, 3 bytes: reported as the version, not the length",
         bias_packet(417, (1, 2, 3), version=0x20)[:3], "UNSUPPORTED_VERSION"),
    ):
        out.append({"name": name, "description": description, "hex": packet.hex(),
                    "rejected_by": "decode_bias", "result": result})
    return out


def build_1_2():
    """{file name under vectors/v1_2/: vectors} -- what 1.2 adds."""
    return {"bias.json": bias_1_2_vectors()}


def dumps(vectors):
    """JSON with one vector per block and one field per line (readable diffs)."""
    blocks = []
    for vector in vectors:
        lines = [f"    {json.dumps(k)}: {json.dumps(val)}" for k, val in vector.items()]
        blocks.append("  {\n" + ",\n".join(lines) + "\n  }")
    return "[\n" + ",\n".join(blocks) + "\n]\n"


def main(argv):
    check = "--check" in argv
    stale = []
    files = [(VECTORS_DIR / n, v) for n, v in build().items()]
    files += [(VECTORS_DIR / "v1_1" / n, v) for n, v in build_1_1().items()]
    files += [(VECTORS_DIR / "v1_2" / n, v) for n, v in build_1_2().items()]
    for path, vectors in files:
        name = path.name
        text = dumps(vectors)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"{path}: {len(vectors)} vectors")
    if stale:
        print("out of date (run python protocol/make_vectors.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Check the golden vectors against sacrum_protocol under MicroPython (the firmware side).

Run from the repository root (tests/test_micropython.py does this)::

    MICROPYPATH=protocol micropython tests/micropython/vector_check.py [protocol/vectors]

Mirrors tests/test_protocol_vectors.py: every vector decodes to exactly its
fields and its fields encode to exactly its bytes; invalid ones raise
ProtocolError with the right result. Prints one line per failure, then
"N passed, M failed"; exits 1 if anything failed. MicroPython only needs
json, struct and binascii; no f-strings, dataclasses or typing.
"""

import json
import struct
import sys
from binascii import hexlify, unhexlify

import sacrum_protocol as sp


class Mismatch(Exception):
    pass


def h(text):
    return unhexlify(text)


def show(value):
    if isinstance(value, (bytes, bytearray)):
        return "<" + hexlify(value).decode() + ">"
    return repr(value)


def eq(got, want, what):
    if got != want:
        raise Mismatch("%s: got %s, want %s" % (what, show(got), show(want)))


def rejects(result_name, fn, *args):
    try:
        fn(*args)
    except sp.ProtocolError as err:
        eq(sp.RESULT_NAMES.get(err.result), result_name, "result")
        eq(err.result, getattr(sp, "RESULT_" + result_name), "result code")
        return
    raise Mismatch("no ProtocolError (want %s)" % result_name)


def as_version(packet, version):
    return packet[:1] + bytes((version,)) + packet[2:]


# --- DATA -------------------------------------------------------------------------
def check_data(v):
    packet = h(v["hex"])
    header = (v["seq"], v["sample_seq"], v["t_us"], v["period_us"], v["dropped"],
              v["flags"], v["n"])
    eq(sp.decode_data_header(packet), header, "decode_data_header")
    got_header, samples = sp.decode_data(packet)
    eq(got_header, header, "decode_data header")
    eq([list(s) for s in samples], v["samples"], "samples")
    eq(packet[sp.OFF_VERSION], v["version"], "version")
    for i in range(v["n"]):
        want = (tuple(v["q"][i]), tuple(v["acc_mps2"][i]), tuple(v["gyr_radps"][i]))
        eq(sp.sample_to_si(samples[i]), want, "sample_to_si %d" % i)
        si = list(v["q"][i]) + list(v["acc_mps2"][i]) + list(v["gyr_radps"][i])
        scales = [sp.Q_SCALE] * 4 + [sp.ACC_SCALE] * 3 + [sp.GYR_SCALE] * 3
        eq([sp.to_i16(si[k], scales[k]) for k in range(10)], v["samples"][i], "to_i16 %d" % i)
    flags = 0
    for name in v["flag_names"]:
        flags |= getattr(sp, "FLAG_" + name)
    eq(flags, v["flags"] & 0x3F, "flag names")

    expected = as_version(packet, sp.VERSION)
    args = (v["seq"], v["sample_seq"], v["t_us"], v["period_us"], v["dropped"], v["flags"])
    eq(sp.encode_data(*(args + (v["samples"],))), expected, "encode_data")
    buf = bytearray(sp.data_packet_size(v["n"]))
    sp.pack_data_header_into(buf, *(args + (v["n"],)))
    for i in range(v["n"]):
        sp.pack_sample_into(buf, i, *v["samples"][i])
    eq(bytes(buf), expected, "pack_*_into")


def check_data_invalid(v):
    rejects(v["result"], sp.decode_data, h(v["hex"]))
    rejects(v["result"], sp.decode_data_header, h(v["hex"]))


# --- COMMAND / RESPONSE -----------------------------------------------------------
def check_command(v):
    packet = h(v["hex"])
    if v["rejected_by"] == "decode_command":
        rejects(v["result"], sp.decode_command, packet)
        return
    args = h(v["args_hex"])
    eq(sp.decode_command(packet), (v["version"], v["token"], v["opcode"], args),
       "decode_command")
    eq(sp.OPCODE_NAMES.get(v["opcode"]), v["opcode_name"], "opcode name")
    eq(sp.encode_command(v["token"], v["opcode"], args), as_version(packet, sp.VERSION),
       "encode_command")
    if v["rejected_by"] == "check_args":
        rejects(v["result"], sp.check_args, v["opcode"], args)
    else:
        eq(sp.check_args(v["opcode"], args), tuple(v["args"]), "check_args")


def status_values(v):
    return tuple([v["status"][field] for field in sp.STATUS_FIELDS])


def check_response(v):
    packet = h(v["hex"])
    if v["rejected_by"] == "decode_response":
        rejects(v["result"], sp.decode_response, packet)
        return
    if v["rejected_by"] == "unpack_status":
        rejects(v["result"], sp.unpack_status, sp.decode_response(packet)[4])
        return
    payload = h(v["payload_hex"])
    eq(sp.decode_response(packet),
       (v["version"], v["token"], v["opcode"], v["result"], payload), "decode_response")
    eq(sp.RESULT_NAMES.get(v["result"]), v["result_name"], "result name")
    eq(sp.OPCODE_NAMES.get(v["opcode"]), v["opcode_name"], "opcode name")
    if "status" in v:
        eq(sp.unpack_status(payload), (status_values(v), v["status_name"]), "unpack_status")
        eq(sp.pack_status(status_values(v), v["status_name"]), payload, "pack_status")
    elif v["result_name"] == "OK" or (
            v["opcode_name"] == "HELLO" and v["result_name"] == "UNSUPPORTED_VERSION"):
        fmt = sp.PAYLOAD_FORMATS[v["opcode"]]
        eq(struct.unpack(fmt, payload), tuple(v["payload"]), "payload")
    else:
        eq(payload, b"", "payload of a failed command")
    eq(sp.encode_response(v["token"], v["opcode"], v["result"], payload),
       as_version(packet, sp.VERSION), "encode_response")


# --- SEGMENT ----------------------------------------------------------------------
def check_segment(v):
    reassembler = sp.Reassembler()
    if v["kind"] == "segmentation":
        packet = h(v["hex"])
        segments = [h(s) for s in v["segments"]]
        eq(sp.segment(packet, v["mtu"], v["tag"]), segments, "segment")
        outputs = [reassembler.push(s) for s in segments]
        eq(outputs, [None] * (len(segments) - 1) + [packet], "Reassembler outputs")
    else:
        for i in range(len(v["notifications"])):
            value = h(v["notifications"][i])
            want = v["outputs"][i]
            if isinstance(want, dict):
                rejects(want["error"], reassembler.push, value)
            else:
                eq(reassembler.push(value), None if want is None else h(want), "push %d" % i)
    eq(reassembler.incomplete, v.get("incomplete", 0), "incomplete")


# --- serial frames ----------------------------------------------------------------
def check_frame(v):
    data = h(v["hex"])
    kind = v["kind"]
    if kind == "crc":
        eq(sp.crc16(data), v["crc16"], "crc16")
    elif kind == "frame":
        packet = h(v["packet_hex"])
        eq(sp.crc16(packet), v["crc16"], "crc16")
        eq(sp.encode_frame(packet), data, "encode_frame")
        eq(sp.decode_frame(data[:-1]), packet, "decode_frame")
    elif kind == "corrupt":
        rejects(v["result"], sp.decode_frame, data)
    else:  # stream
        want = [h(f) for f in v["frames"]]
        for step in (len(data) or 1, 1, 7):
            splitter = sp.FrameSplitter()
            frames = []
            for i in range(0, len(data), step):
                frames += splitter.feed(data[i:i + step])
            eq(frames, want, "frames fed %d bytes at a time" % step)
            eq(splitter.oversize, v["oversize"], "oversize")
        for i in range(len(want)):
            if isinstance(v["packets"][i], dict):
                rejects(v["packets"][i]["error"], sp.decode_frame, want[i])
            else:
                eq(sp.decode_frame(want[i]), h(v["packets"][i]), "decode_frame %d" % i)


CHECKS = (
    ("data.json", check_data),
    ("data_invalid.json", check_data_invalid),
    ("commands.json", check_command),
    ("responses.json", check_response),
    ("segments.json", check_segment),
    ("frames.json", check_frame),
)


def check_bias(v):
    packet = h(v["hex"])
    if v.get("rejected_by") == "decode_bias":
        rejects(v["result"], sp.decode_bias, packet)
        return
    eq(sp.decode_bias(packet), (v["sample_seq"], tuple(v["bias_q24"])), "decode_bias")
    eq(sp.encode_bias(v["sample_seq"], *v["bias_q24"]), packet, "encode_bias")
    buf = bytearray(sp.BIAS_SIZE)
    sp.pack_bias_into(buf, v["sample_seq"], *v["bias_q24"])
    eq(bytes(buf), packet, "pack_bias_into")


CHECKS += (("v1_2/bias.json", check_bias),)


def default_vectors_dir():
    parts = __file__.split("/")  # .../tests/micropython/vector_check.py
    if len(parts) > 3:
        return "/".join(parts[:-3]) + "/protocol/vectors"
    return "protocol/vectors"


def main(argv):
    directory = argv[1] if len(argv) > 1 else default_vectors_dir()
    passed = 0
    failed = 0
    for file_name, check in CHECKS:
        with open(directory + "/" + file_name) as f:
            vectors = json.load(f)
        for v in vectors:
            try:
                check(v)
                passed += 1
            except Exception as err:  # report every failure, whatever it is
                failed += 1
                print("FAIL %s %s: %s: %s" % (file_name, v["name"], type(err).__name__, err))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

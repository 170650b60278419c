"""sacrum_protocol against the golden vectors in protocol/vectors/ (host, CPython).

Every vector is checked both ways: decoding its bytes gives exactly the fields
written next to them, and encoding those fields gives exactly the bytes. The
vectors were assembled from SPEC.md's tables by protocol/make_vectors.py, not
by this codec. tests/micropython/vector_check.py runs the same checks on the
firmware side (MicroPython).
"""

import importlib.util
import json
import struct
from pathlib import Path

import pytest

import sacrum_protocol as sp

PROTOCOL_DIR = Path(__file__).resolve().parents[1] / "protocol"
VECTORS_DIR = PROTOCOL_DIR / "vectors"
VECTOR_FILES = (
    "data.json", "data_invalid.json", "commands.json", "responses.json",
    "segments.json", "frames.json",
)


def load(file_name, **match):
    """pytest params for the vectors of ``file_name`` whose fields equal ``match`` (and
    those of the same name under v1_1/: commands and results 1.1 adds)."""
    with open(VECTORS_DIR / file_name, encoding="utf-8") as f:
        vectors = json.load(f)
    if (VECTORS_DIR / "v1_1" / file_name).exists():
        vectors += json.loads((VECTORS_DIR / "v1_1" / file_name).read_text("utf-8"))
    return [
        pytest.param(v, id=v["name"])
        for v in vectors
        if all(v.get(key) == value for key, value in match.items())
    ]


def result_code(name):
    return getattr(sp, "RESULT_" + name)


def as_version(packet, version):
    """``packet`` with byte 1 (the version) replaced: the encoders always write 1.0."""
    return packet[:1] + bytes((version,)) + packet[2:]


def assert_rejects(result_name, fn, *args):
    with pytest.raises(sp.ProtocolError) as err:
        fn(*args)
    assert sp.RESULT_NAMES[err.value.result] == result_name
    assert err.value.result == result_code(result_name)


# --- the vector files themselves --------------------------------------------------
def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_vectors", PROTOCOL_DIR / "make_vectors.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vector_files_are_the_generators_output():
    generator = _load_generator()
    built = generator.build()
    assert sorted(built) == sorted(VECTOR_FILES)
    for name, vectors in built.items():
        on_disk = (VECTORS_DIR / name).read_text(encoding="utf-8")
        assert on_disk == generator.dumps(vectors), (
            name + " differs from protocol/make_vectors.py's output; rerun it"
        )


@pytest.mark.parametrize("file_name", VECTOR_FILES)
def test_vector_names_are_unique(file_name):
    names = [p.id for p in load(file_name)]
    assert names and len(names) == len(set(names))


# --- DATA (SPEC 2.1) --------------------------------------------------------------
@pytest.mark.parametrize("v", load("data.json"))
def test_data_decodes_to_fields(v):
    packet = bytes.fromhex(v["hex"])
    header = (v["seq"], v["sample_seq"], v["t_us"], v["period_us"], v["dropped"],
              v["flags"], v["n"])
    assert sp.decode_data_header(packet) == header
    got_header, samples = sp.decode_data(packet)
    assert got_header == header
    assert [list(s) for s in samples] == v["samples"]
    assert packet[sp.OFF_VERSION] == v["version"]
    for raw, q, acc, gyr in zip(samples, v["q"], v["acc_mps2"], v["gyr_radps"], strict=True):
        assert sp.sample_to_si(raw) == (tuple(q), tuple(acc), tuple(gyr))


@pytest.mark.parametrize("v", load("data.json"))
def test_data_encodes_to_bytes(v):
    expected = as_version(bytes.fromhex(v["hex"]), sp.VERSION)
    args = (v["seq"], v["sample_seq"], v["t_us"], v["period_us"], v["dropped"], v["flags"])
    assert sp.encode_data(*args, v["samples"]) == expected
    # the firmware's allocation-free path writes the same bytes
    buf = bytearray(sp.data_packet_size(v["n"]))
    sp.pack_data_header_into(buf, *args, v["n"])
    for i, raw in enumerate(v["samples"]):
        sp.pack_sample_into(buf, i, *raw)
    assert bytes(buf) == expected


@pytest.mark.parametrize("v", load("data.json"))
def test_data_si_values_encode_back_to_raw(v):
    for raw, q, acc, gyr in zip(v["samples"], v["q"], v["acc_mps2"], v["gyr_radps"],
                                strict=True):
        si = [(x, sp.Q_SCALE) for x in q] + [(x, sp.ACC_SCALE) for x in acc] + [
            (x, sp.GYR_SCALE) for x in gyr]
        assert [sp.to_i16(x, scale) for x, scale in si] == raw


@pytest.mark.parametrize("v", load("data.json"))
def test_data_flag_names_match_spec(v):
    assert sum(getattr(sp, "FLAG_" + name) for name in v["flag_names"]) == v["flags"] & 0x3F
    assert [name.upper() for bit, name in sp.FLAG_NAMES if v["flags"] & bit] == v["flag_names"]


@pytest.mark.parametrize("v", load("data.json"))
def test_data_header_offsets(v):
    packet = bytes.fromhex(v["hex"])
    assert packet[sp.OFF_PTYPE] == sp.PTYPE_DATA
    assert struct.unpack_from("<H", packet, sp.OFF_SEQ)[0] == v["seq"]
    assert struct.unpack_from("<H", packet, sp.OFF_SAMPLE_SEQ)[0] == v["sample_seq"]
    assert struct.unpack_from("<I", packet, sp.OFF_T_US)[0] == v["t_us"]
    assert struct.unpack_from("<H", packet, sp.OFF_PERIOD_US)[0] == v["period_us"]
    assert struct.unpack_from("<H", packet, sp.OFF_DROPPED)[0] == v["dropped"]
    assert packet[sp.OFF_FLAGS] == v["flags"]
    assert packet[sp.OFF_N] == v["n"]


@pytest.mark.parametrize("v", load("data_invalid.json"))
def test_invalid_data_is_rejected(v):
    assert_rejects(v["result"], sp.decode_data, bytes.fromhex(v["hex"]))
    assert_rejects(v["result"], sp.decode_data_header, bytes.fromhex(v["hex"]))


@pytest.mark.parametrize("n", [0, 12])
def test_encode_data_refuses_sample_counts_outside_1_to_11(n):
    with pytest.raises(sp.ProtocolError):
        sp.encode_data(0, 0, 0, 5000, 0, 0, [[0] * 10] * n)


def test_samples_per_packet_at_the_spec_mtus():
    assert sp.samples_per_packet(23) == 4  # SPEC 2.4: sent as 6 segments
    assert sp.samples_per_packet(247) == 11


# --- COMMAND (SPEC 2.2) -----------------------------------------------------------
DECODABLE_COMMANDS = load("commands.json", rejected_by=None) + load(
    "commands.json", rejected_by="check_args")


@pytest.mark.parametrize("v", DECODABLE_COMMANDS)
def test_command_decodes_to_fields(v):
    packet = bytes.fromhex(v["hex"])
    args = bytes.fromhex(v["args_hex"])
    assert sp.decode_command(packet) == (v["version"], v["token"], v["opcode"], args)
    assert sp.OPCODE_NAMES.get(v["opcode"]) == v["opcode_name"]
    if v["opcode_name"] is not None:
        assert getattr(sp, "OP_" + v["opcode_name"]) == v["opcode"]


@pytest.mark.parametrize("v", DECODABLE_COMMANDS)
def test_command_encodes_to_bytes(v):
    packet = as_version(bytes.fromhex(v["hex"]), sp.VERSION)
    assert sp.encode_command(v["token"], v["opcode"], bytes.fromhex(v["args_hex"])) == packet


@pytest.mark.parametrize("v", load("commands.json", rejected_by=None))
def test_command_args_are_accepted(v):
    assert sp.check_args(v["opcode"], bytes.fromhex(v["args_hex"])) == tuple(v["args"])


@pytest.mark.parametrize("v", load("commands.json", rejected_by="check_args"))
def test_command_args_are_rejected(v):
    assert_rejects(v["result"], sp.check_args, v["opcode"], bytes.fromhex(v["args_hex"]))


@pytest.mark.parametrize("v", load("commands.json", rejected_by="decode_command"))
def test_command_packet_is_rejected(v):
    assert_rejects(v["result"], sp.decode_command, bytes.fromhex(v["hex"]))


def test_every_opcode_has_an_accepted_command_vector():
    accepted = {p.values[0]["opcode"] for p in load("commands.json", rejected_by=None)}
    assert accepted == set(sp.OPCODE_NAMES)


# --- RESPONSE (SPEC 2.2) ----------------------------------------------------------
@pytest.mark.parametrize("v", load("responses.json", rejected_by=None))
def test_response_decodes_to_fields(v):
    packet = bytes.fromhex(v["hex"])
    payload = bytes.fromhex(v["payload_hex"])
    assert sp.decode_response(packet) == (
        v["version"], v["token"], v["opcode"], v["result"], payload)
    assert sp.RESULT_NAMES[v["result"]] == v["result_name"]
    assert sp.OPCODE_NAMES.get(v["opcode"]) == v["opcode_name"]
    if "status" in v:
        values = tuple(v["status"][field] for field in sp.STATUS_FIELDS)
        assert sp.unpack_status(payload) == (values, v["status_name"])
    elif v["result_name"] == "OK" or (
            v["opcode_name"] == "HELLO" and v["result_name"] == "UNSUPPORTED_VERSION"):
        # SPEC 2.3: a HELLO without overlap still carries the device's range
        assert struct.unpack(sp.PAYLOAD_FORMATS[v["opcode"]], payload) == tuple(v["payload"])
    else:
        assert payload == b""  # SPEC 2.2: empty unless the result is OK


@pytest.mark.parametrize("v", load("responses.json", rejected_by=None))
def test_response_encodes_to_bytes(v):
    packet = as_version(bytes.fromhex(v["hex"]), sp.VERSION)
    if "status" in v:
        values = tuple(v["status"][field] for field in sp.STATUS_FIELDS)
        payload = sp.pack_status(values, v["status_name"])
        assert payload == bytes.fromhex(v["payload_hex"])
    else:
        payload = bytes.fromhex(v["payload_hex"])
    assert sp.encode_response(v["token"], v["opcode"], v["result"], payload) == packet


@pytest.mark.parametrize("v", load("responses.json", rejected_by="decode_response"))
def test_response_packet_is_rejected(v):
    assert_rejects(v["result"], sp.decode_response, bytes.fromhex(v["hex"]))


@pytest.mark.parametrize("v", load("responses.json", rejected_by="unpack_status"))
def test_status_record_is_rejected(v):
    payload = sp.decode_response(bytes.fromhex(v["hex"]))[4]
    assert_rejects(v["result"], sp.unpack_status, payload)


def test_every_opcode_has_an_ok_response_vector():
    ok = {p.values[0]["opcode"] for p in load("responses.json", rejected_by=None, result=0)}
    assert ok == set(sp.OPCODE_NAMES)


def test_pack_status_cuts_a_long_name_at_a_character_boundary():
    values = tuple(range(14))
    payload = sp.pack_status(values, "a" + "β" * 10)  # 21 bytes; a cut at 20 splits a β
    assert sp.unpack_status(payload) == (values, "a" + "β" * 9)


# --- SEGMENT (SPEC 2.4) -----------------------------------------------------------
@pytest.mark.parametrize("v", load("segments.json", kind="segmentation"))
def test_segmentation(v):
    packet = bytes.fromhex(v["hex"])
    expected = [bytes.fromhex(s) for s in v["segments"]]
    assert sp.segment(packet, v["mtu"], v["tag"]) == expected
    assert all(len(s) <= v["mtu"] - 3 for s in expected)
    reassembler = sp.Reassembler()
    outputs = [reassembler.push(s) for s in expected]
    assert outputs == [None] * (len(expected) - 1) + [packet]
    assert reassembler.incomplete == 0


@pytest.mark.parametrize("v", load("segments.json", kind="reassembly"))
def test_reassembly(v):
    reassembler = sp.Reassembler()
    for value, expected in zip(v["notifications"], v["outputs"], strict=True):
        if isinstance(expected, dict):
            assert_rejects(expected["error"], reassembler.push, bytes.fromhex(value))
        else:
            want = None if expected is None else bytes.fromhex(expected)
            assert reassembler.push(bytes.fromhex(value)) == want
    assert reassembler.incomplete == v["incomplete"]


# --- serial framing (SPEC 4) ------------------------------------------------------
@pytest.mark.parametrize("v", load("frames.json", kind="crc"))
def test_crc16(v):
    assert sp.crc16(bytes.fromhex(v["hex"])) == v["crc16"]


@pytest.mark.parametrize("v", load("frames.json", kind="frame"))
def test_frame_encodes_and_decodes(v):
    frame = bytes.fromhex(v["hex"])
    packet = bytes.fromhex(v["packet_hex"])
    assert sp.crc16(packet) == v["crc16"]
    assert sp.encode_frame(packet) == frame
    assert sp.decode_frame(frame[:-1]) == packet
    with_crc = packet + bytes((v["crc16"] & 0xFF, v["crc16"] >> 8))
    assert sp.cobs_encode(with_crc) == frame[:-1]
    assert sp.cobs_decode(frame[:-1]) == with_crc


@pytest.mark.parametrize("v", load("frames.json", kind="corrupt"))
def test_corrupt_frame_is_rejected(v):
    assert_rejects(v["result"], sp.decode_frame, bytes.fromhex(v["hex"]))


@pytest.mark.parametrize("v", load("frames.json", kind="stream"))
@pytest.mark.parametrize("chunk", [None, 1, 7], ids=["whole", "bytewise", "chunks7"])
def test_stream_splits_into_frames(v, chunk):
    stream = bytes.fromhex(v["hex"])
    splitter = sp.FrameSplitter()
    step = chunk or max(len(stream), 1)
    frames = []
    for i in range(0, len(stream), step):
        frames += splitter.feed(stream[i:i + step])
    assert frames == [bytes.fromhex(f) for f in v["frames"]]
    assert splitter.oversize == v["oversize"]
    for frame, expected in zip(frames, v["packets"], strict=True):
        if isinstance(expected, dict):
            assert_rejects(expected["error"], sp.decode_frame, frame)
        else:
            assert sp.decode_frame(frame) == bytes.fromhex(expected)


@pytest.mark.parametrize("decode, ptype", [(sp.decode_data, sp.PTYPE_DATA),
                                           (sp.decode_command, sp.PTYPE_COMMAND),
                                           (sp.decode_response, sp.PTYPE_RESPONSE)])
def test_a_short_packet_of_a_future_version_is_reported_as_such(decode, ptype):
    with pytest.raises(sp.ProtocolError) as e:
        decode(bytes([ptype, 0x20, 0x00]))
    assert e.value.result == sp.RESULT_UNSUPPORTED_VERSION


# --- BIAS (SPEC 2.5, 1.2) ----------------------------------------------------------
def _bias_vectors(**match):
    vectors = json.loads((VECTORS_DIR / "v1_2" / "bias.json").read_text("utf-8"))
    return [pytest.param(v, id=v["name"]) for v in vectors
            if all(v.get(k) == x for k, x in match.items())]


def test_the_1_1_and_1_2_vector_files_are_the_generators_output():
    generator = _load_generator()
    for folder, built in (("v1_1", generator.build_1_1()), ("v1_2", generator.build_1_2())):
        for name, vectors in built.items():
            on_disk = (VECTORS_DIR / folder / name).read_text(encoding="utf-8")
            assert on_disk == generator.dumps(vectors), (folder, name)


@pytest.mark.parametrize("v", _bias_vectors(rejected_by=None))
def test_bias_decodes_to_fields_and_encodes_to_bytes(v):
    packet = bytes.fromhex(v["hex"])
    assert sp.decode_bias(packet) == (v["sample_seq"], tuple(v["bias_q24"]))
    assert sp.encode_bias(v["sample_seq"], *v["bias_q24"]) == packet
    buf = bytearray(sp.BIAS_SIZE + 3)
    sp.pack_bias_into(buf, v["sample_seq"], *v["bias_q24"])
    assert bytes(buf[:sp.BIAS_SIZE]) == packet and buf[sp.BIAS_SIZE:] == b"\0\0\0"
    assert [b / sp.BIAS_SCALE for b in v["bias_q24"]] == v["bias_radps"]
    assert packet[0] == sp.PTYPE_BIAS and packet[1] == sp.VERSION_1_2


@pytest.mark.parametrize("v", _bias_vectors(rejected_by="decode_bias"))
def test_bias_packet_is_rejected(v):
    assert_rejects(v["result"], sp.decode_bias, bytes.fromhex(v["hex"]))


@pytest.mark.parametrize("v", _bias_vectors(rejected_by=None))
def test_bias_is_no_packet_a_1_1_codec_decodes(v):
    """A 1.1 receiver knows only DATA, RESPONSE (and SEGMENT): each of their decoders
    refuses a BIAS packet as another packet type, never as a version it lacks, so the
    receiver's dispatch on byte 0 counts it as unknown (SPEC 2)."""
    packet = bytes.fromhex(v["hex"])
    for decode in (sp.decode_data_header, sp.decode_response, sp.decode_command):
        assert_rejects("BAD_PACKET", decode, packet)
    assert sp.Reassembler().push(packet) == packet

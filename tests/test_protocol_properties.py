"""Properties of sacrum_protocol's byte parsers and framers (hypothesis).

The golden vectors (test_protocol_vectors.py) pin exact bytes; these check
that every parser survives arbitrary input with nothing but ProtocolError,
and that framing and segmentation round-trip for any packet.
"""

import contextlib
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

import sacrum_protocol as sp

u16s = st.integers(0, 0xFFFF)
i16s = st.integers(sp.I16_MIN, sp.I16_MAX)
raw_samples = st.lists(st.lists(i16s, min_size=10, max_size=10), min_size=1, max_size=11)


def prefixed(*heads):
    """Random bytes, often behind a plausible header so parsers get past the first check."""
    return st.one_of(
        st.binary(max_size=300),
        st.tuples(st.sampled_from(heads), st.binary(max_size=300)).map(b"".join),
    )


def only_protocol_errors(fn, *args):
    try:
        fn(*args)
    except sp.ProtocolError as err:
        assert err.result in sp.RESULT_NAMES


# --- COBS and serial frames (SPEC 4) ----------------------------------------------
@given(st.binary(max_size=800))
def test_cobs_round_trips_without_zero_bytes(data):
    encoded = sp.cobs_encode(data)
    assert 0 not in encoded
    assert len(encoded) <= len(data) + len(data) // 254 + 1
    assert sp.cobs_decode(encoded) == data


@given(st.binary(min_size=1, max_size=507))
def test_frame_round_trips(packet):
    frame = sp.encode_frame(packet)
    assert frame[-1] == 0 and 0 not in frame[:-1]
    assert sp.decode_frame(frame[:-1]) == packet
    assert sp.FrameSplitter().feed(frame) == [frame[:-1]]


@given(st.binary(max_size=600))
def test_decode_frame_raises_only_protocol_error(data):
    only_protocol_errors(sp.decode_frame, data)
    only_protocol_errors(sp.cobs_decode, data)


@settings(max_examples=300)
@given(
    packets=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=6),
    data=st.data(),
)
def test_one_bad_byte_costs_only_the_frames_it_touches(packets, data):
    frames = [sp.encode_frame(p) for p in packets]
    stream = bytearray(b"".join(frames))
    pos = data.draw(st.integers(0, len(stream) - 1), label="pos")
    stream[pos] = data.draw(st.integers(0, 255).filter(lambda b: b != stream[pos]), label="to")

    # the frame the byte is in; hitting a delimiter merges that frame with the next
    hit, start, hit_frame = frame_at(frames, pos)
    on_delimiter = pos == start + len(hit_frame) - 1
    last_touched = hit + 1 if on_delimiter else hit

    splitter = sp.FrameSplitter()
    cuts = sorted(data.draw(st.sets(st.integers(1, len(stream) - 1), max_size=4), label="cuts"))
    received = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        received += splitter.feed(stream[a:b])
    decoded = []
    for frame in received:
        with contextlib.suppress(sp.ProtocolError):
            decoded.append(sp.decode_frame(frame))

    before, after = packets[:hit], packets[last_touched + 1:]
    assert decoded[:len(before)] == before
    assert decoded[len(decoded) - len(after):] == after
    spurious = len(decoded) - len(before) - len(after)
    if stream[pos] != 0 and not on_delimiter and pos not in cobs_code_positions(hit_frame, start):
        # a changed data byte is one byte of error in packet + CRC: CRC-16 always sees it
        assert spurious == 0
    else:
        # a changed COBS code, a new 0x00 or a lost delimiter garbles, splits or
        # merges frames; each result then passes the CRC by chance with p = 2**-16
        assert spurious <= 2


def frame_at(frames, pos):
    """(index, stream offset, frame) of the frame holding stream offset ``pos``."""
    start = 0
    for index, frame in enumerate(frames):
        if pos < start + len(frame):
            return index, start, frame
        start += len(frame)
    raise IndexError(pos)


def cobs_code_positions(frame, start):
    """Stream offsets of the COBS code bytes of ``frame`` (with delimiter) at ``start``."""
    codes = set()
    i = 0
    while i < len(frame) - 1:
        codes.add(start + i)
        i += frame[i]
    return codes


# --- SEGMENT (SPEC 2.4) -----------------------------------------------------------
segment_like = st.tuples(
    st.integers(0, 3), st.integers(0, 255), st.binary(max_size=30)
).map(lambda t: bytes((sp.PTYPE_SEGMENT, sp.VERSION, t[0], t[1])) + t[2])


@settings(max_examples=300)
@given(st.lists(st.one_of(st.binary(max_size=40), segment_like), max_size=30))
def test_reassembler_raises_only_protocol_error(values):
    reassembler = sp.Reassembler()
    for value in values:
        only_protocol_errors(reassembler.push, value)
    assert reassembler.incomplete >= 0


@given(
    packets=st.lists(
        st.tuples(st.sampled_from((sp.PTYPE_DATA, sp.PTYPE_COMMAND, sp.PTYPE_RESPONSE)),
                  st.binary(max_size=255)).map(lambda t: bytes((t[0],)) + t[1]),
        min_size=1, max_size=3),
    mtu=st.integers(23, 247),
    tag=st.integers(0, 255),
)
def test_any_packet_segmented_at_any_mtu_reassembles(packets, mtu, tag):
    reassembler = sp.Reassembler()
    for i, packet in enumerate(packets):
        values = sp.segment(packet, mtu, tag + i)
        assert all(len(v) <= mtu - sp.ATT_OVERHEAD for v in values)
        outputs = [reassembler.push(v) for v in values]
        assert outputs == [None] * (len(values) - 1) + [packet]
    assert reassembler.incomplete == 0


def test_segment_refuses_more_than_16_segments():
    assert len(sp.segment(bytes(256), 23, 0)) == 16
    try:
        sp.segment(bytes(257), 23, 0)
    except sp.ProtocolError:
        return
    raise AssertionError("a 257-byte packet at MTU 23 needs 17 segments")


# --- packet decoders (SPEC 2.1, 2.2) ----------------------------------------------
@settings(max_examples=300)
@given(prefixed(b"\x01\x10", b"\x01\x11", b"\x01\x20"))
def test_decode_data_raises_only_protocol_error(data):
    only_protocol_errors(sp.decode_data, data)


@settings(max_examples=300)
@given(prefixed(b"\x02\x10", b"\x02\x20"))
def test_decode_command_raises_only_protocol_error(data):
    try:
        _version, _token, opcode, args = sp.decode_command(data)
    except sp.ProtocolError:
        return
    only_protocol_errors(sp.check_args, opcode, args)


@settings(max_examples=300)
@given(prefixed(b"\x03\x10", b"\x03\x20", b"\x03\x10\x00\x08\x00"))
def test_decode_response_raises_only_protocol_error(data):
    try:
        payload = sp.decode_response(data)[4]
    except sp.ProtocolError:
        return
    only_protocol_errors(sp.unpack_status, payload)


@given(st.integers(0, 255), st.binary(max_size=30))
def test_check_args_raises_only_protocol_error(opcode, args):
    only_protocol_errors(sp.check_args, opcode, args)


@given(u16s, u16s, st.integers(0, 2**32 - 1), st.integers(1, 0xFFFF), u16s,
       st.integers(0, 255), raw_samples)
def test_data_round_trips(seq, sample_seq, t_us, period_us, dropped, flags, samples):
    packet = sp.encode_data(seq, sample_seq, t_us, period_us, dropped, flags, samples)
    assert len(packet) == 16 + 20 * len(samples)
    header, decoded = sp.decode_data(packet)
    assert header == (seq, sample_seq, t_us, period_us, dropped, flags, len(samples))
    assert [list(s) for s in decoded] == samples


@given(st.lists(u16s, min_size=14, max_size=14), st.text(max_size=30))
def test_status_round_trips(fields, name):
    # fit each value into its field's width
    limits = [(1 << (8 * struct.calcsize("<" + c))) - 1 for c in sp.STATUS_FMT[1:]]
    values = tuple(v & m for v, m in zip(fields, limits, strict=True))
    got_values, got_name = sp.unpack_status(sp.pack_status(values, name))
    assert got_values == values
    assert name.startswith(got_name)
    assert len(got_name.encode()) <= sp.NAME_MAX_BYTES

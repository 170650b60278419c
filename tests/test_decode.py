"""The decoder: exact sample values, exact loss accounting, timing without jitter.

Fixtures are made by sacrum.testing.generator, which reports what it did to every
packet (the truth the decoder is checked against).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sacrum_protocol as sp
from sacrum.io.capture import CaptureWriter, default_header
from sacrum.io.decode import decode_capture
from sacrum.testing.generator import LinkModel, make_capture, quantize, synthetic_walk

RATE = 200


@pytest.fixture(scope="module")
def motion():
    return synthetic_walk(40, RATE, seed=3)


def _check_against_truth(path, motion, truth):
    table = decode_capture(path)
    raw, _ = quantize(*motion)
    got = truth.sample_received
    first = int(np.flatnonzero(got)[0])
    last = int(np.flatnonzero(got)[-1]) + 1
    assert len(table) == last - first
    np.testing.assert_array_equal(table.received, got[first:last])
    rec = table.received
    np.testing.assert_array_equal(table.q[rec], raw[first:last][rec, 0:4] / sp.Q_SCALE)
    np.testing.assert_array_equal(table.acc_mps2[rec], raw[first:last][rec, 4:7] / sp.ACC_SCALE)
    np.testing.assert_array_equal(table.gyr_radps[rec], raw[first:last][rec, 7:10] / sp.GYR_SCALE)
    assert np.isnan(table.q[~rec]).all() and np.isnan(table.gyr_radps[~rec]).all()
    loss = table.loss
    assert loss.samples_lost == int((~got[first:last]).sum())
    assert loss.samples_received == int(got.sum())
    return table


@pytest.mark.parametrize("link", [
    LinkModel(),
    LinkModel(mtu=23),
    LinkModel(mtu=100),
    LinkModel(serial=True),
], ids=["mtu247", "mtu23-segmented", "mtu100", "serial"])
def test_lossless_links_decode_every_sample_exactly(tmp_path, motion, link):
    path = tmp_path / "c.sacrum"
    truth = make_capture(path, *motion, RATE, link=link, seed=1)
    table = _check_against_truth(path, motion, truth)
    assert table.loss.samples_lost == 0 and table.loss.packets_lost == 0
    assert table.loss.gaps == 0 and table.loss.corrupt_packets == 0
    assert table.rate_hz == pytest.approx(RATE)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_loss_drops_duplicates_and_reordering_are_counted_exactly(tmp_path, motion, seed):
    path = tmp_path / "c.sacrum"
    link = LinkModel(p_transit_loss=0.03, p_device_drop=0.02, p_duplicate=0.02, p_reorder=0.02)
    truth = make_capture(path, *motion, RATE, link=link, seed=seed)
    table = _check_against_truth(path, motion, truth)
    loss = table.loss
    delivered = np.flatnonzero(truth.delivered)
    inner = slice(delivered[0], delivered[-1] + 1)  # losses before the first packet are unseen
    dropped = truth.dropped_mask[inner]
    assert loss.packets_lost == int((~truth.delivered[inner]).sum())
    assert loss.packets_dropped_by_device == int(dropped.sum())
    assert loss.packets_lost_in_transit == loss.packets_lost - loss.packets_dropped_by_device
    assert loss.duplicate_packets == truth.duplicates
    assert loss.reordered_packets == truth.reordered
    assert loss.gaps > 0 and loss.longest_gap_samples % truth.samples_per_packet == 0


def test_sequence_and_timestamp_wrap_mid_session(tmp_path, motion):
    """seq, sample_seq and t_us all wrap within the first seconds."""
    path = tmp_path / "c.sacrum"
    truth = make_capture(path, *motion, RATE, link=LinkModel(p_transit_loss=0.01), seed=4,
                         t_us0=(1 << 32) - 3_000_000, seq0=65_530, sample_seq0=65_500)
    table = _check_against_truth(path, motion, truth)
    assert table.loss.device_restarts == 0
    assert np.all(np.diff(table.t_s) > 0)


def test_gap_longer_than_the_sample_counter_wrap(tmp_path):
    """A 200 s outage at 200 Hz (40,000 samples > 32,768) is resolved by t_us."""
    q, acc, gyr = synthetic_walk(260, RATE, seed=5)
    path = tmp_path / "c.sacrum"
    truth = make_capture(path, q, acc, gyr, RATE, seed=5,
                         link=LinkModel(outages_s=((20.0, 220.0),)))
    table = _check_against_truth(path, (q, acc, gyr), truth)
    assert table.loss.longest_gap_samples >= 40_000 - truth.samples_per_packet
    assert table.loss.longest_gap_s == pytest.approx(200.0, abs=0.2)


def test_sample_times_follow_the_device_clock_not_delivery_jitter(tmp_path, motion):
    path = tmp_path / "c.sacrum"
    link = LinkModel(conn_interval_s=0.030, jitter_s=0.010, drift_ppm=40.0)
    make_capture(path, *motion, RATE, link=link, seed=6)
    table = decode_capture(path)
    dt = np.diff(table.t_s)
    # jitter of tens of ms in delivery; sample spacing constant to float precision
    assert dt.max() - dt.min() < 1e-9
    assert dt.mean() == pytest.approx(1 / RATE, rel=1e-4)
    assert table.clock.latency_s > 0.005


def test_time_axis_maps_onto_host_time(tmp_path, motion):
    path = tmp_path / "c.sacrum"
    make_capture(path, *motion, RATE, link=LinkModel(jitter_s=0.001, conn_interval_s=0.0075),
                 seed=7)
    table = decode_capture(path)
    # the generator starts the device 0.5 s after the session start, plus one
    # packet's sampling time, one connection event and 4 ms of host latency at most
    assert 0.5 <= table.t_s[0] <= 0.5 + 0.06


def _write_packets(path, packets, start_ns=1_800_000_000_000_000_000, step_ns=55_000_000,
                   channel=sp.CH_BLE_DATA):
    with CaptureWriter(path, default_header(start_time_ns=start_ns)) as w:
        for i, p in enumerate(packets):
            w.write_packet(channel, p, start_ns + (i + 1) * step_ns)


def _samples(n, base=0):
    return [tuple(((base + i) * 7 + k) % 3000 for k in range(10)) for i in range(n)]


def test_future_version_unknown_type_and_corrupt_packets_are_counted_and_skipped(tmp_path):
    good = [sp.encode_data(i, 11 * i, 55_000 * i, 5000, 0, 0, _samples(11, 11 * i))
            for i in range(6)]
    future = bytearray(good[2])
    future[1] = 0x20  # protocol 2.0
    wrong_len = good[3][:-1]
    unknown = b"\x7f\x10abc"
    path = tmp_path / "c.sacrum"
    _write_packets(path, [good[0], good[1], bytes(future), wrong_len, unknown, good[4], good[5]])
    table = decode_capture(path)
    loss = table.loss
    assert loss.unsupported_version_packets == 1
    assert loss.corrupt_packets == 1
    assert loss.unknown_packets == 1
    assert loss.packets_received == 4
    assert loss.samples_lost == 22 and loss.packets_lost == 2 and loss.gaps == 1
    assert len(table) == 66
    np.testing.assert_array_equal(table.q[44:, 0], [s[0] / sp.Q_SCALE for s in
                                                    _samples(22, 44)])


def test_device_restart_starts_a_new_stretch_instead_of_a_bogus_gap(tmp_path):
    first = [sp.encode_data(1000 + i, 5000 + 11 * i, 900_000_000 + 55_000 * i, 5000, 0, 0,
                            _samples(11)) for i in range(10)]
    after = [sp.encode_data(i, 11 * i, 2_000_000 + 55_000 * i, 5000, 0, 0, _samples(11))
             for i in range(10)]
    path = tmp_path / "c.sacrum"
    with CaptureWriter(path, default_header(start_time_ns=0)) as w:
        for i, p in enumerate(first):
            w.write_packet(sp.CH_BLE_DATA, p, (i + 1) * 55_000_000)
        for i, p in enumerate(after):  # rebooted 3 s later
            w.write_packet(sp.CH_BLE_DATA, p, 3_600_000_000 + (i + 1) * 55_000_000)
    table = decode_capture(path)
    assert table.loss.device_restarts == 1
    assert table.loss.samples_received == 220
    assert table.loss.packets_lost == 0
    # the reboot shows as a gap of about the 3 s the host waited
    assert table.loss.longest_gap_s == pytest.approx(3.0, abs=0.1)


def test_serial_frames_with_bad_crc_cost_one_packet(tmp_path):
    packets = [sp.encode_data(i, 11 * i, 55_000 * i, 5000, 0, 0, _samples(11, 11 * i))
               for i in range(8)]
    frames = [sp.encode_frame(p)[:-1] for p in packets]
    bad = bytearray(frames[4])
    bad[20] ^= 0x40
    frames[4] = bytes(bad)
    path = tmp_path / "c.sacrum"
    _write_packets(path, frames, channel=sp.CH_SERIAL_RX)
    table = decode_capture(path)
    assert table.loss.corrupt_packets == 1
    assert table.loss.packets_lost == 1 and table.loss.samples_lost == 11
    assert table.loss.samples_received == 77


def test_missing_segment_loses_exactly_that_packet(tmp_path):
    packets = [sp.encode_data(i, 4 * i, 20_000 * i, 5000, 0, 0, _samples(4, 4 * i))
               for i in range(10)]
    values = []
    for i, p in enumerate(packets):
        segs = sp.segment(p, 23, i)
        if i == 5:
            del segs[2]
        values += segs
    path = tmp_path / "c.sacrum"
    _write_packets(path, values, step_ns=3_000_000)
    table = decode_capture(path)
    assert table.loss.incomplete_segments == 1
    assert table.loss.packets_lost == 1 and table.loss.samples_lost == 4
    assert table.loss.samples_received == 36


def test_flags_reach_each_sample_of_their_packet(tmp_path):
    p0 = sp.encode_data(0, 0, 0, 10_000, 0, sp.FLAG_AT_REST | sp.FLAG_CALIBRATING, _samples(3))
    p1 = sp.encode_data(1, 3, 30_000, 10_000, 0, sp.FLAG_CLIPPING, _samples(3))
    path = tmp_path / "c.sacrum"
    _write_packets(path, [p0, p1])
    table = decode_capture(path)
    assert list(table.flags) == [3, 3, 3, 4, 4, 4]
    assert table.rate_hz == pytest.approx(100)


def test_empty_capture_decodes_to_no_samples(tmp_path):
    path = tmp_path / "c.sacrum"
    _write_packets(path, [])
    table = decode_capture(path)
    assert len(table) == 0 and table.loss.samples_expected == 0


# --- property-based: whatever arrives, the decoder accounts for it ------------

_packet_event = st.one_of(
    # a valid DATA packet after a jump of the sample counter (loss, duplicate, reorder)
    st.tuples(st.just("data"), st.integers(-40, 400), st.integers(1, 11),
              st.integers(0, 3), st.integers(0, 255)),
    st.tuples(st.just("junk"), st.binary(min_size=0, max_size=60)),
    st.tuples(st.just("flip"), st.integers(0, 235), st.integers(1, 255)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(_packet_event, min_size=1, max_size=40),
       sseq0=st.integers(0, 65535), t0=st.integers(0, (1 << 32) - 1))
def test_any_packet_sequence_decodes_with_consistent_accounting(tmp_path_factory, events,
                                                                  sseq0, t0):
    values, sseq, seq, dropped = [], sseq0, 0, 0
    for ev in events:
        if ev[0] == "data":
            _, jump, n, drops, flags = ev
            sseq += jump
            dropped += drops
            values.append(sp.encode_data(seq, sseq, t0 + sseq * 5000, 5000, dropped, flags,
                                         _samples(n)))
            seq += 1 + drops
            sseq += n
        elif ev[0] == "junk":
            values.append(ev[1])
        elif values:
            last = bytearray(values[-1]) or bytearray(b"\0")
            last[ev[1] % len(last)] ^= ev[2]
            values[-1] = bytes(last)
    path = tmp_path_factory.mktemp("h") / "c.sacrum"
    _write_packets(path, values)
    table = decode_capture(path)
    loss = table.loss
    assert loss.samples_expected == loss.samples_received + loss.samples_lost == len(table)
    assert int(table.received.sum()) == loss.samples_received
    assert loss.packets_lost == loss.packets_dropped_by_device + loss.packets_lost_in_transit
    assert loss.packets_lost_in_transit >= 0
    assert np.all(np.diff(table.t_s) > 0)
    assert np.isnan(table.q[~table.received]).all()
    assert not np.isnan(table.q[table.received]).any()


def test_nonsense_device_timing_cannot_inflate_the_sample_grid(tmp_path):
    """A device bug (period 1 µs, clock leaping 30 min in 40 ms) stays bounded."""
    good = [sp.encode_data(i, 11 * i, 55_000 * i, 5000, 0, 0, _samples(11)) for i in range(5)]
    leap = sp.encode_data(5, 55, 55_000 * 5 + 1_800_000_000, 1, 0, 0, _samples(11))
    tiny = [sp.encode_data(6 + i, 66 + 11 * i, 55_000 * (6 + i) + 1_800_000_000, 1, 0, 0,
                           _samples(11)) for i in range(5)]
    path = tmp_path / "c.sacrum"
    _write_packets(path, [*good, leap, *tiny], step_ns=40_000_000)
    table = decode_capture(path)
    assert table.loss.samples_received == 121
    assert len(table) < 1000
    assert table.loss.device_restarts == 1


def test_a_pause_in_streaming_is_time_passing_not_loss(tmp_path):
    """STOP then START: sample_seq continues, t_us jumps 5 s (SPEC 2.1)."""
    before = [sp.encode_data(i, 11 * i, 55_000 * i, 5000, 0, 0, _samples(11)) for i in range(4)]
    after = [sp.encode_data(4 + i, 44 + 11 * i, 5_220_000 + 55_000 * i, 5000, 0, 0,
                            _samples(11)) for i in range(4)]
    path = tmp_path / "c.sacrum"
    with CaptureWriter(path, default_header(start_time_ns=0)) as w:
        for i, p in enumerate(before):
            w.write_packet(sp.CH_BLE_DATA, p, 60_000_000 + i * 55_000_000)
        for i, p in enumerate(after):
            w.write_packet(sp.CH_BLE_DATA, p, 5_280_000_000 + i * 55_000_000)
    table = decode_capture(path)
    assert table.loss.samples_lost == 0 and len(table) == 88
    dt = np.diff(table.t_s)
    assert dt[43] == pytest.approx(5.220 - 0.215, abs=1e-6)  # the pause
    np.testing.assert_allclose(np.delete(dt, 43), 0.005, atol=1e-6)


def test_orphan_segments_and_empty_notifications_are_counted_live_and_offline(tmp_path):
    """A segmented packet whose first segment never came, and a zero-length notification,
    are counted (LossReport), by the live and the offline decoder alike."""
    import sacrum_protocol as sp
    from sacrum.io.capture import CaptureWriter, default_header
    from sacrum.io.stream import StreamDecoder
    from sacrum.io.transports import Packet

    pkt = sp.encode_data(0, 0, 0, 5000, 0, 0, [[16384, 0, 0, 0, 0, 0, 2510, 0, 0, 0]] * 4)
    segs = sp.segment(pkt, 23, 7)
    assert len(segs) > 2
    path = tmp_path / "orphans.sacrum"
    values = [*segs[1:], b""]                     # no first segment; then an empty value
    with CaptureWriter(path, default_header(transport="ble")) as w:
        for v in values:
            w.write_packet(sp.CH_BLE_DATA, v)
    live = StreamDecoder()
    for v in values:
        live.update(Packet(0, sp.CH_BLE_DATA, v))
    for loss in (live.loss, decode_capture(path).loss):
        assert loss.orphan_segments == len(segs) - 1
        assert loss.empty_notifications == 1
        assert "empty notifications" in " ".join(loss.lines())


# --- protocol 1.2: the device's gyro bias (SPEC 2.5) -------------------------------------
def _bias_stream():
    """DATA packets of 11 samples from sample_seq 65500 (the counter wraps at packet 3),
    with BIAS packets sent as the firmware sends them, before the packet holding their
    sample (one mid-packet, one after a lost packet, one after the last DATA), and the
    bias each sample had (rad/s, x y z)."""
    q24 = [(0, 0, 0), (233_973, -41_220, 7_919), (240_000, -40_000, 8_000),
           (-1_464_086, 5, 1_464_086)]
    packets, truth = [], []
    bias_of = []  # (sample index, bias) as sent
    plan = {0: [(0, 0)], 2: [(2 * 11 + 4, 1)], 5: [(5 * 11, 2)], 8: [(8 * 11 + 10, 3)]}
    for i in range(8):
        for k, b in plan.get(i, []):
            packets.append(sp.encode_bias(65500 + k, *q24[b]))
            bias_of.append((k, b))
        if i == 4:  # lost in transit: its samples are a gap
            continue
        packets.append(sp.encode_data(i, 65500 + 11 * i, 55_000 * i, 5000, 0, 0,
                                      _samples(11, 11 * i)))
    for k, b in plan[8]:
        packets.append(sp.encode_bias(65500 + k, *q24[b]))
    for s in range(88):
        b = [bb for kk, bb in bias_of if kk <= s][-1]
        truth.append([v / 2**24 for v in q24[b]])
    return packets, np.array(truth)


def test_bias_packets_give_each_sample_its_bias_and_the_sensors_rate(tmp_path):
    packets, truth = _bias_stream()
    path = tmp_path / "bias.sacrum"
    _write_packets(path, packets)
    table = decode_capture(path)
    assert len(table) == 88 and table.loss.samples_lost == 11 and table.bias_packets == 4
    assert table.loss.unknown_packets == 0 and table.loss.corrupt_packets == 0
    np.testing.assert_array_equal(table.gyr_bias_radps, truth.astype(np.float32))
    rec = table.received
    wire = np.array([s[7:10] for s in _samples(88)]) / sp.GYR_SCALE
    np.testing.assert_allclose(table.gyr_sensor_radps[rec], (wire + truth)[rec], atol=1e-6)
    np.testing.assert_array_equal(table.gyr_radps[rec], wire[rec].astype(np.float32))
    # a capture without BIAS: the wire's rate is the sensor's
    plain = tmp_path / "plain.sacrum"
    _write_packets(plain, [p for p in packets if p[0] == sp.PTYPE_DATA])
    t2 = decode_capture(plain)
    assert t2.gyr_bias_radps is None and t2.gyr_sensor_radps is t2.gyr_radps


def test_bias_packets_are_decoded_live_not_counted_as_unknown(tmp_path):
    from sacrum.io.stream import StreamDecoder
    from sacrum.io.transports import Packet

    packets, _ = _bias_stream()
    live = StreamDecoder()
    chunks = [c for p in packets if (c := live.update(Packet(0, sp.CH_BLE_DATA, p)))]
    assert len(chunks) == 7 and live.bias_packets == 4
    assert live.loss.unknown_packets == 0 and live.loss.corrupt_packets == 0
    np.testing.assert_array_equal(live.gyr_bias_radps, np.array((-1_464_086, 5, 1_464_086)) / 2**24)
    assert live.bias_sample_seq == (65500 + 98) % 65536
    # the live chunks carry the wire's rate (docs/live.md)
    np.testing.assert_array_equal(chunks[0].gyr_radps,
                                  np.array([s[7:10] for s in _samples(11)]) / sp.GYR_SCALE)


def test_a_bad_bias_packet_is_counted_as_corrupt_or_of_another_version(tmp_path):
    packets, _ = _bias_stream()
    future = bytearray(packets[0])
    future[1] = 0x20
    bad = [bytes(future), packets[0][:-1], sp.encode_bias(3, 1 << 28, 0, 0)]
    path = tmp_path / "badbias.sacrum"
    _write_packets(path, bad + packets[1:2])
    table = decode_capture(path)
    assert table.loss.unsupported_version_packets == 1 and table.loss.corrupt_packets == 2
    assert table.bias_packets == 0 and table.gyr_bias_radps is None and len(table) == 11

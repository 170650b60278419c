"""Make captures the way a sacrum device and a BLE or serial link would.

Until the firmware produces captures itself, this is how sample captures,
test fixtures and benchmark files are made. It follows protocol/SPEC.md
exactly (headers are packed by the shared codec) and models what a real link
does to timing: the device clock drifts against the host, packets wait for the
next BLE connection event and the host stack adds jitter. It can also lose,
drop, duplicate and reorder packets, and reports the truth about what it did so
tests can check the decoder's accounting exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import sacrum_protocol as sp
from sacrum.io.capture import CaptureWriter, default_header
from sacrum.units import G_MPS2


@dataclass
class LinkModel:
    """How packets travel from the device to the host.

    mtu: ATT MTU (23..247); sets samples per packet and segmentation.
    conn_interval_s: BLE connection interval (packets leave at connection events).
    latency_s, jitter_s: fixed host-stack delay and the mean of an exponential
        extra delay on top (s).
    drift_ppm: device clock rate error; positive = device clock runs slow.
    p_transit_loss, p_device_drop, p_duplicate, p_reorder: per-packet chances.
    serial: carry packets in serial frames (SPEC 4) instead of notifications.
    outages_s: (start, end) device-time spans whose packets never arrive (s).
    """

    mtu: int = 247
    conn_interval_s: float = 0.015
    latency_s: float = 0.004
    jitter_s: float = 0.003
    drift_ppm: float = 20.0
    p_transit_loss: float = 0.0
    p_device_drop: float = 0.0
    p_duplicate: float = 0.0
    p_reorder: float = 0.0
    serial: bool = False
    outages_s: tuple[tuple[float, float], ...] = ()


@dataclass
class GeneratedTruth:
    """What the generator did, for checking a decoder against."""

    samples: int  # samples the device made
    samples_per_packet: int
    packets: int  # packets the device formed
    delivered: np.ndarray  # (packets,) bool: packet reached the capture
    dropped_mask: np.ndarray  # (packets,) bool: dropped at the device (not sent)
    device_dropped: int
    transit_lost: int
    duplicates: int
    reordered: int
    sample_received: np.ndarray = field(repr=False, default=None)  # (samples,) bool


def quantize(
    q: np.ndarray, acc_mps2: np.ndarray, gyr_radps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """SI arrays -> (N, 10) int16 raw samples (SPEC 1.2) and per-sample clip flags."""
    si = np.hstack([q * sp.Q_SCALE, acc_mps2 * sp.ACC_SCALE, gyr_radps * sp.GYR_SCALE])
    r = np.round(si)
    clip = np.any((r > sp.I16_MAX) | (r < sp.I16_MIN), axis=1)
    return np.clip(r, sp.I16_MIN, sp.I16_MAX).astype("<i2"), clip


def make_capture(
    path: str | os.PathLike,
    q: np.ndarray,
    acc_mps2: np.ndarray,
    gyr_radps: np.ndarray,
    rate_hz: int,
    *,
    link: LinkModel | None = None,
    flags: np.ndarray | None = None,
    seed: int = 0,
    t_us0: int | None = None,
    seq0: int = 0,
    sample_seq0: int = 0,
    header: dict[str, Any] | None = None,
    annotations: list[tuple[float, dict[str, Any]]] = (),
    start_time_ns: int = 1_790_000_000_000_000_000,
) -> GeneratedTruth:
    """Write a capture of the given motion as a device streaming it would.

    q (N, 4) is q_sensor_to_earth, acc_mps2 and gyr_radps (N, 3) are in the
    sensor frame, sampled at rate_hz. annotations are (t_s since start, JSON).
    """
    link = link or LinkModel()
    rng = np.random.default_rng(seed)
    raw, clip = quantize(np.asarray(q), np.asarray(acc_mps2), np.asarray(gyr_radps))
    nsamp = raw.shape[0]
    sflags = np.zeros(nsamp, np.uint8) if flags is None else np.asarray(flags, np.uint8).copy()
    sflags[clip] |= sp.FLAG_CLIPPING
    period_us = round(1e6 / rate_hz)
    n = sp.samples_per_packet(link.mtu) if not link.serial else sp.MAX_SAMPLES
    npk = nsamp // n
    if t_us0 is None:
        t_us0 = int(rng.integers(0, 1 << 32))
    # device time of each packet's first sample; the host sees it through drift
    first = np.arange(npk) * n
    dev_s = first * period_us * 1e-6
    ready_s = dev_s + n * period_us * 1e-6  # last sample taken, packet formed
    host_s = 0.5 + ready_s * (1.0 + link.drift_ppm * 1e-6)
    if not link.serial:  # wait for the next connection event
        host_s = np.ceil(host_s / link.conn_interval_s) * link.conn_interval_s
    host_s = host_s + link.latency_s + rng.exponential(link.jitter_s, npk)
    host_s = np.maximum.accumulate(host_s)  # a link delivers in order
    dropped = rng.random(npk) < link.p_device_drop
    lost = ~dropped & (rng.random(npk) < link.p_transit_loss)
    for a, b in link.outages_s:
        lost |= ~dropped & (ready_s >= a) & (ready_s < b)
    delivered = ~dropped & ~lost
    dup = delivered & (rng.random(npk) < link.p_duplicate)
    swap = delivered & (rng.random(npk) < link.p_reorder)
    drop_count = np.cumsum(dropped)

    order: list[tuple[float, int]] = []  # (host time, packet index) in arrival order
    for i in np.flatnonzero(delivered):
        order.append((host_s[i], int(i)))
        if dup[i]:
            order.append((host_s[i] + 1e-4, int(i)))
    reordered = 0
    k = 0
    while k < len(order) - 1:  # arrive after the next packet instead of before it
        if swap[order[k][1]] and order[k + 1][1] != order[k][1]:
            (ta, a), (tb, b) = order[k], order[k + 1]
            order[k], order[k + 1] = (ta, b), (tb, a)
            reordered += 1
            k += 1
        k += 1

    hdr = default_header(
        start_time_ns=start_time_ns,
        transport="serial" if link.serial else "ble",
        mtu=None if link.serial else link.mtu,
        device={"name": "sacrum-gen", "firmware": "generator", "imu": "synthetic"},
    )
    hdr.update(header or {})
    buf = bytearray(sp.data_packet_size(n))
    tag = 0
    ann = sorted(annotations, key=lambda a: a[0])
    ai = 0
    with CaptureWriter(path, hdr) as w:
        for t_host, i in order:
            t_ns = start_time_ns + round(t_host * 1e9)
            while ai < len(ann) and ann[ai][0] <= t_host:
                w.annotate(ann[ai][1], start_time_ns + round(ann[ai][0] * 1e9))
                ai += 1
            s0 = int(first[i])
            sp.pack_data_header_into(
                buf, seq0 + i, sample_seq0 + s0, t_us0 + s0 * period_us, period_us,
                int(drop_count[i]), int(np.bitwise_or.reduce(sflags[s0:s0 + n])), n,
            )
            buf[sp.DATA_HEADER_SIZE:] = raw[s0:s0 + n].tobytes()
            pkt = bytes(buf)
            if link.serial:
                w.write_packet(sp.CH_SERIAL_RX, sp.encode_frame(pkt)[:-1], t_ns)
                continue
            parts = sp.segment(pkt, link.mtu, tag)
            if len(parts) > 1:
                tag = (tag + 1) & 0xFF
            for part in parts:
                w.write_packet(sp.CH_BLE_DATA, part, t_ns)
        for t, a in ann[ai:]:
            w.annotate(a, start_time_ns + round(t * 1e9))

    received = np.zeros(nsamp, bool)
    for i in np.flatnonzero(delivered):
        received[first[i]:first[i] + n] = True
    return GeneratedTruth(
        samples=npk * n, samples_per_packet=n, packets=npk, delivered=delivered,
        dropped_mask=dropped,
        device_dropped=int(dropped.sum()), transit_lost=int(lost.sum()),
        duplicates=int(dup.sum()), reordered=reordered, sample_received=received[:npk * n],
    )


def synthetic_walk(duration_s: float, rate_hz: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Plausible sacrum motion for tests and benchmarks: (q, acc_mps2, gyr_radps).

    A 1.8 Hz step rhythm with pelvic obliquity, tilt and rotation of a few
    degrees, vertical bounce, and sensor noise. Not a physiological model;
    real motion comes from the recordings in examples/.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    w = 2 * np.pi * 0.9  # stride frequency (steps at 1.8 Hz)
    tilt = np.deg2rad(2.0 * np.sin(2 * w * t))
    obl = np.deg2rad(4.0 * np.sin(w * t))
    rot = np.deg2rad(5.0 * np.sin(w * t + 0.5))
    # ZYX sequence rot (z), obliquity (x), tilt (y): good enough for a fixture
    cr, sr = np.cos(rot / 2), np.sin(rot / 2)
    co, so = np.cos(obl / 2), np.sin(obl / 2)
    ct, st = np.cos(tilt / 2), np.sin(tilt / 2)
    q = np.stack([
        cr * co * ct + sr * so * st,
        cr * so * ct - sr * co * st,
        cr * co * st + sr * so * ct,
        sr * co * ct - cr * so * st,
    ], axis=1)
    acc = np.zeros((t.size, 3))
    acc[:, 2] = G_MPS2 + 2.0 * np.sin(2 * w * t)
    acc[:, 0] = 1.0 * np.sin(2 * w * t + 1.0)
    acc[:, 1] = 0.8 * np.sin(w * t)
    acc += rng.normal(0, 0.05, acc.shape)
    gyr = np.stack([np.gradient(obl, t), np.gradient(tilt, t), np.gradient(rot, t)], axis=1)
    gyr += rng.normal(0, 0.005, gyr.shape)
    return q, acc, gyr

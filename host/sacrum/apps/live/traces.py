"""Scrolling traces: tilt, obliquity and rotation (deg), stance phases, ICs, turns, tasks,
marks; colours from :mod:`sacrum.apps.palette`."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from sacrum.apps import palette
from sacrum.apps.live.session import TASK_LABELS, LiveSnapshot

SIDE_COLOURS = palette.SIDE_RGB
TRACE_NAMES = ("tilt", "obliquity", "rotation")
TRACE_HINTS = ("+ anterior", "+ left up", "+ right fwd")
_FAR_DEG = 1e4  # shading and lines span the view vertically whatever its range
_TEXT_POOL = 8
_TURN_STRIP = 0.1  # a turn's strip: this fraction of the plot's height, at its top
_LOST_BUCKET_PX = 3  # lost runs narrower than this are drawn pooled, by their share
_LOST_ALPHA = 200


def lost_bars(gaps: list[tuple[float, float]], x_lo_s: float, x_hi_s: float,
              bucket_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hatched bars of the lost data in view: (x0 (s), width (s), share lost 0..1).

    A run of lost samples at least ``bucket_s`` long is its own bar, fully hatched. Shorter
    runs (IPOL's radio loses single packets: 377 runs in 27 s) are pooled into buckets of
    ``bucket_s`` (on the time axis from 0, so that they stay put as the view scrolls), each
    drawn across its bucket with the share of it that is lost, so the hatching's density
    is the loss's: a run below a pixel would otherwise be drawn at least a pixel wide, and
    7 % lost in many runs looked like a third."""
    if not gaps or not bucket_s > 0:
        return np.zeros(1), np.zeros(1), np.zeros(1)
    g = np.asarray(gaps, float).reshape(-1, 2)
    g = g[(g[:, 1] > x_lo_s) & (g[:, 0] < x_hi_s)]
    wide = g[g[:, 1] - g[:, 0] >= bucket_s]
    short = g[g[:, 1] - g[:, 0] < bucket_s]
    x0, w, f = [wide[:, 0]], [wide[:, 1] - wide[:, 0]], [np.ones(len(wide))]
    if len(short):
        k = np.floor(short[:, 0] / bucket_s).astype(np.int64)
        ks, inv = np.unique(k, return_inverse=True)
        lost = np.zeros(len(ks))
        np.add.at(lost, inv, short[:, 1] - short[:, 0])
        x0.append(ks * bucket_s)
        w.append(np.full(len(ks), bucket_s))
        f.append(np.minimum(lost / bucket_s, 1.0))
    x0c, wc, fc = np.concatenate(x0), np.concatenate(w), np.concatenate(f)
    if not len(x0c):
        return np.zeros(1), np.zeros(1), np.zeros(1)
    return x0c, wc, fc


class TracePanel(pg.GraphicsLayoutWidget):
    """Three linked plots of the last ``span_s`` seconds; draws what a snapshot holds."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.plots: list[pg.PlotItem] = []
        self.curves: list[pg.PlotDataItem] = []
        self._shade: list[dict[str, pg.BarGraphItem]] = []
        self._ics: list[dict[str, pg.PlotDataItem]] = []
        self._marks: list[pg.PlotDataItem] = []
        self._gaps: list[pg.BarGraphItem] = []
        self._turns: list[pg.BarGraphItem] = []
        self._hatches: dict[int, pg.QtGui.QBrush] = {}
        for i, (name, hint) in enumerate(zip(TRACE_NAMES, TRACE_HINTS, strict=True)):
            p = self.addPlot(row=i, col=0)
            p.setLabel("left", f"{name} (°)  {hint}")
            # no grid: the axes' alpha-blended grid lines cost Qt's software renderer more
            # than everything else in a frame (28 -> 48 frames/s without); the zero line
            # (the standing calibration) is the reference that matters
            p.addItem(pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen(150, 150, 150, width=1)),
                      ignoreBounds=True)
            p.setMouseEnabled(x=False, y=False)
            p.enableAutoRange(x=False, y=True)
            p.setDownsampling(auto=True, mode="peak")
            p.setClipToView(True)
            if self.plots:
                p.setXLink(self.plots[0])
            if i < 2:  # one time axis with numbers, at the bottom: less text to draw
                p.getAxis("bottom").setStyle(showValues=False)
            shade = {}
            ics = {}
            for side, rgb in SIDE_COLOURS.items():
                b = pg.BarGraphItem(x0=[0.0], width=[0.0], y0=[-_FAR_DEG], height=[2 * _FAR_DEG],
                                    brush=pg.mkBrush(*rgb, 40), pen=pg.mkPen(None))
                b.setZValue(-10)
                p.addItem(b, ignoreBounds=True)
                shade[side] = b
                line = pg.PlotDataItem(pen=pg.mkPen(*rgb, 160, width=1))
                p.addItem(line, ignoreBounds=True)
                ics[side] = line
            # lost data hatched (unlike the overlap of both stance shadings, double support),
            # as dense as the loss: lost_bars
            gap = pg.BarGraphItem(x0=[0.0], width=[0.0], y0=[-_FAR_DEG], height=[2 * _FAR_DEG],
                                  brush=self._hatch(_LOST_ALPHA), pen=pg.mkPen(None))
            gap.setZValue(-9)
            p.addItem(gap, ignoreBounds=True)
            # a turn: a strip along the top of each plot (not mixed into the stance shading)
            turn = pg.BarGraphItem(x0=[0.0], width=[0.0], y0=[-_FAR_DEG], height=[2 * _FAR_DEG],
                                   brush=pg.mkBrush(*palette.rgb(palette.TURN), 230),
                                   pen=pg.mkPen(None))
            turn.setZValue(-8)
            p.addItem(turn, ignoreBounds=True)
            self._turns.append(turn)
            mark = pg.PlotDataItem(pen=pg.mkPen(*palette.rgb(palette.NEUTRAL), 220, width=2,
                                                style=pg.QtCore.Qt.PenStyle.DashLine))
            p.addItem(mark, ignoreBounds=True)
            curve = p.plot(pen=pg.mkPen(20, 20, 20, width=1))  # wide pens are slow to raster
            if i == 2:  # rotation where the heading is not settled (turns): drawn over, grey
                self._unsettled = p.plot(pen=pg.mkPen(*palette.rgb(palette.EXCLUDED), width=2))
            self.plots.append(p)
            self.curves.append(curve)
            self._shade.append(shade)
            self._ics.append(ics)
            self._gaps.append(gap)
            self._marks.append(mark)
        self.plots[-1].setLabel("bottom", "time (s) · stance L blue, R vermillion · yellow: "
                                "turn · grey: heading unsettled · hatched: lost")
        self._labels = [pg.TextItem(anchor=(0, 0), color=palette.rgb(palette.TASK))
                        for _ in range(_TEXT_POOL)]
        for t in self._labels:
            self.plots[0].addItem(t, ignoreBounds=True)
        self._mark_labels = [pg.TextItem(anchor=(0, 1), color=palette.rgb(palette.NEUTRAL))
                             for _ in range(_TEXT_POOL)]
        for t in self._mark_labels:
            self.plots[0].addItem(t, ignoreBounds=True)
        # turns: angle and duration, in the rotation plot (what a turn moves)
        self._turn_labels = [pg.TextItem(anchor=(0, 0), color=palette.rgb(palette.NEUTRAL))
                             for _ in range(_TEXT_POOL)]
        for t in self._turn_labels:
            self.plots[2].addItem(t, ignoreBounds=True)

    def show_snapshot(self, snap: LiveSnapshot, x_end_s: float, span_s: float) -> None:
        """Draw ``snap`` with the view ending at ``x_end_s`` (s) and ``span_s`` wide."""
        deg = np.degrees(snap.angles_rad)
        for i, curve in enumerate(self.curves):
            curve.setData(snap.t_s, deg[:, i], connect="finite")
        settled = snap.heading_settled
        if settled is not None and len(settled) == len(deg) and not settled.all():
            # the unsettled runs, each with its neighbours so the grey joins the black
            near = ~settled
            near[:-1] |= ~settled[1:]
            near[1:] |= ~settled[:-1]
            self._unsettled.setData(snap.t_s, np.where(near, deg[:, 2], np.nan),
                                    connect="finite")
        else:
            self._unsettled.setData([], [])
        # the vertical extent of shading and lines: the data's own range (what the
        # auto-range will show), not the view's range before this frame's data is in
        ranges = []
        for i in range(3):
            col = deg[:, i][np.isfinite(deg[:, i])] if len(deg) else np.zeros(0)
            lo, hi = (float(col.min()), float(col.max())) if col.size else (-1.0, 1.0)
            pad = 0.1 * max(hi - lo, 1.0)
            ranges.append((lo - pad, hi + pad))
        for side in SIDE_COLOURS:
            st = [(a, b) for s, a, b in snap.stance if s == side]
            x0 = np.array([a for a, _ in st]) if st else np.zeros(1)
            w = np.array([b - a for a, b in st]) if st else np.zeros(1)
            ic = np.array([t for t, k, s in snap.events if k == "IC" and s == side])
            xs = np.repeat(ic, 2)
            ys = np.tile([-_FAR_DEG, _FAR_DEG], len(ic))
            for i in range(3):
                # just the plot's height: a far larger rectangle costs time to clip and fill
                lo, hi = ranges[i]
                self._shade[i][side].setOpts(x0=x0, width=w, y0=np.full(len(x0), lo),
                                             height=np.full(len(x0), hi - lo))
                self._ics[i][side].setData(xs, ys, connect="pairs")
        u0 = np.array([a for a, _, _ in snap.turns]) if snap.turns else np.zeros(1)
        uw = np.array([b - a for a, b, _ in snap.turns]) if snap.turns else np.zeros(1)
        for i in range(3):
            lo, hi = ranges[i]
            strip = _TURN_STRIP * (hi - lo)
            self._turns[i].setOpts(x0=u0, width=uw, y0=np.full(len(u0), hi - strip),
                                   height=np.full(len(u0), strip))
        px = max(1.0, self.plots[0].getViewBox().width())
        x_hi = x_end_s if math.isfinite(x_end_s) else (float(snap.t_s[-1]) if len(snap.t_s)
                                                        else 0.0)
        x_lo = min([x_hi - span_s, *(a for a, _ in snap.gaps[:1])])  # every gap it holds
        g0, gw, share = lost_bars(snap.gaps, x_lo, x_hi, _LOST_BUCKET_PX * span_s / px)
        brushes = [self._hatch(a) for a in np.round(_LOST_ALPHA * share).astype(int)]
        mx = np.repeat([t for t, _ in snap.marks], 2)
        for i in range(3):
            lo, hi = ranges[i]
            self._gaps[i].setOpts(x0=g0, width=gw, y0=np.full(len(g0), lo),
                                  height=np.full(len(g0), hi - lo), brushes=brushes)
            self._marks[i].setData(mx, np.tile([-_FAR_DEG, _FAR_DEG], len(mx) // 2),
                                   connect="pairs")
        if math.isfinite(x_end_s):
            self.plots[0].setXRange(x_end_s - span_s, x_end_s, padding=0)
        self._place_labels(snap, x_end_s, span_s, ranges[2][1])

    def _hatch(self, alpha: int) -> pg.QtGui.QBrush:
        """The lost-data hatch at ``alpha`` (0-255), one brush per alpha, kept."""
        b = self._hatches.get(alpha)
        if b is None:
            b = self._hatches[alpha] = pg.QtGui.QBrush(
                pg.mkColor(*palette.rgb(palette.EXCLUDED), alpha),
                pg.QtCore.Qt.BrushStyle.BDiagPattern)
        return b

    def _place_labels(self, snap: LiveSnapshot, x_end_s: float, span_s: float,
                      y_rot: float) -> None:
        vb = self.plots[0].getViewBox()
        y_top = vb.viewRange()[1][1]
        y_bot = vb.viewRange()[1][0]
        x_lo = x_end_s - span_s if math.isfinite(x_end_s) else 0.0
        tasks = snap.tasks[-_TEXT_POOL:]
        for k, label in enumerate(self._labels):
            if k < len(tasks):
                name, t0, t1 = tasks[k]
                end = "" if t1 is None else f" (to {t1:.1f} s)"
                label.setText(f"▶ {TASK_LABELS.get(name, name)}{end}")
                label.setPos(max(t0, x_lo), y_top)
                label.show()
            else:
                label.hide()
        turns = snap.turns[-_TEXT_POOL:]  # at the top of the rotation plot's data range
        for k, label in enumerate(self._turn_labels):
            if k < len(turns):
                t0, t1, angle = turns[k]
                side = "left" if angle > 0 else "right"
                label.setText(f"turn {abs(angle):.0f}° {side}, {t1 - t0:.1f} s")
                label.setPos(max(t0, x_lo), y_rot)
                label.show()
            else:
                label.hide()
        marks = snap.marks[-_TEXT_POOL:]
        for k, label in enumerate(self._mark_labels):
            if k < len(marks):
                label.setText(marks[k][1] or "mark")
                label.setPos(marks[k][0], y_bot)
                label.show()
            else:
                label.hide()

    def scroll_to(self, x_end_s: float, span_s: float) -> None:
        if math.isfinite(x_end_s):
            self.plots[0].setXRange(x_end_s - span_s, x_end_s, padding=0)

    def set_scrollable(self, on: bool) -> None:
        """Let the mouse pan the time axis (when frozen)."""
        for p in self.plots:
            p.setMouseEnabled(x=on, y=False)

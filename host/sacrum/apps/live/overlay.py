"""Per-stride overlay: the last strides' obliquity and tilt over the gait cycle (%)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from sacrum.apps import palette
from sacrum.apps.live.bars import drop_bands
from sacrum.apps.live.session import CURVE_POINTS, LiveSnapshot
from sacrum.apps.live.traces import SIDE_COLOURS
from sacrum.scoring.score import Bands


class StrideOverlay(pg.GraphicsLayoutWidget):
    """Strides from a left IC (blue) and a right IC (vermillion), 0-100 % of the gait cycle, the
    latest ``n_curves`` drawn, the latest strongest (dotted: a step the scorer does not
    use); the mean of the side's used strides among the snapshot's in bold. Once the
    session has converged (``snap.final``) these are every used stride of the final
    analysis, so the means are the report's gait-cycle curves, and the titles say so.
    Obliquity is drawn over the normal band of the contralateral drop (±normal_max of
    bands.toml: the swing side may go that far down in loading response, +obliquity in
    left stance, -obliquity in right stance).
    """

    def __init__(self, n_curves: int = 12, bands: Bands | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        band = drop_bands(bands)
        nmax = min(b.normal_max for b in band.values() if b.normal_max is not None)
        self.pct = np.linspace(0.0, 100.0, CURVE_POINTS)
        self.obliquity = self.addPlot(row=0, col=0, title="obliquity over the stride (°)")
        self.tilt = self.addPlot(row=1, col=0, title="tilt over the stride (°)")
        self.tilt.setLabel("bottom", "% of gait cycle · L blue, R vermillion")
        green = palette.rgb(palette.NORMAL)
        self.band = pg.LinearRegionItem((-nmax, nmax), orientation="horizontal",
                                        movable=False, brush=pg.mkBrush(*green, 40),
                                        pen=pg.mkPen(*green, 120))
        self.obliquity.addItem(self.band)
        label = pg.TextItem(f"normal drop ≤ {nmax:.0f}°", color=green, anchor=(0, 1))
        label.setPos(1.0, nmax)
        self.obliquity.addItem(label, ignoreBounds=True)
        for p in (self.obliquity, self.tilt):
            p.setMouseEnabled(x=False, y=False)
            p.setXRange(0, 100, padding=0)
            p.showGrid(x=True, y=True, alpha=0.25)
        self.obliquity.setYRange(-nmax - 5, nmax + 5)
        self._obl = [self.obliquity.plot() for _ in range(n_curves)]
        self._tilt = [self.tilt.plot() for _ in range(n_curves)]
        self._mean = {s: (self.obliquity.plot(pen=pg.mkPen(*c, width=3)),
                          self.tilt.plot(pen=pg.mkPen(*c, width=3)))
                      for s, c in SIDE_COLOURS.items()}
        self.shown = 0

    def show_snapshot(self, snap: LiveSnapshot) -> None:
        every = snap.curves
        curves = every[-len(self._obl):]
        key = (snap.final, tuple((c.t_ic_s, c.used) for c in every))
        if key == getattr(self, "_key", None):
            return  # no new stride
        self._key = key
        self.shown = len(curves)
        n = {s: sum(c.used and c.side == s for c in every) for s in "LR"}
        for plot, name in ((self.obliquity, "obliquity"), (self.tilt, "tilt")):
            plot.setTitle(f"{name}, final: {n['L']} L + {n['R']} R strides (°)" if snap.final
                          else f"{name} over the stride (°)")
        for k, (po, pt) in enumerate(zip(self._obl, self._tilt, strict=True)):
            if k < len(curves):
                c = curves[k]
                alpha = int(60 + 140 * (k + 1) / len(curves))
                pen = pg.mkPen(*SIDE_COLOURS[c.side], alpha, width=1,
                               style=pg.QtCore.Qt.PenStyle.SolidLine if c.used
                               else pg.QtCore.Qt.PenStyle.DotLine)
                po.setData(self.pct, np.degrees(c.obliquity_rad), pen=pen)
                pt.setData(self.pct, np.degrees(c.tilt_rad), pen=pen)
            else:
                po.setData([], [])
                pt.setData([], [])
        for side, (mo, mt) in self._mean.items():
            mine = [c for c in every if c.side == side and c.used]
            if mine:
                mo.setData(self.pct, np.degrees(np.mean([c.obliquity_rad for c in mine], 0)))
                mt.setData(self.pct, np.degrees(np.mean([c.tilt_rad for c in mine], 0)))
            else:
                mo.setData([], [])
                mt.setData([], [])

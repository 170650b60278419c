"""Contralateral drop per stance side as bars over the normal band (bands.toml)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from sacrum.apps import palette
from sacrum.scoring.score import Band, Bands, load_bands

SIDES = ("L", "R")
_GREEN, _AMBER, _RED = (palette.rgb(palette.NORMAL), palette.rgb(palette.CAUTION),
                        palette.rgb(palette.POOR))


def drop_bands(bands: Bands | None = None) -> dict[str, Band]:
    """The bands of ``contralateral_drop_deg.L`` / ``.R`` (deg), by stance side."""
    bands = bands or load_bands()
    out = {}
    for comp in bands.components.values():
        for it in comp.items:
            for s in SIDES:
                if it.metric == f"contralateral_drop_deg.{s}":
                    out[s] = it.band
    for s in SIDES:
        out.setdefault(s, Band(normal_max=7.0, poor_max=12.0, unit="deg"))
    return out


def band_colour(value_deg: float, band: Band) -> tuple[int, int, int]:
    """Inside the normal band, up to the poor limit, beyond it: :data:`palette.NORMAL`,
    ``CAUTION``, ``POOR`` (bluish green, orange, reddish purple)."""
    if not math.isfinite(value_deg):
        return palette.rgb(palette.EXCLUDED)
    points = band.points(value_deg)
    return _GREEN if points >= 100 else (_AMBER if points > 0 else _RED)


def band_word(value_deg: float, band: Band) -> str:
    """"normal", "caution" or "poor": the band ``value_deg`` is in (as :func:`band_colour`)."""
    points = band.points(value_deg)
    return "normal" if points >= 100 else ("caution" if points > 0 else "poor")


#: The drop label's height on the bars' scale (deg), at the window's default size.
LABEL_DEG = 2.0


class DropBars(pg.PlotWidget):
    """Two bars (left stance, right stance: the median drop of the rolling window, deg) in
    the side colours (as in the report), over the normal band shaded green up to
    ``normal_max`` and the caution band orange up to ``poor_max``; each bar's label says
    which band it is in."""

    def __init__(self, bands: Bands | None = None, parent=None) -> None:
        super().__init__(parent, background="w")
        self.bands = drop_bands(bands)
        p = self.getPlotItem()
        p.setTitle("contralateral drop (°)")
        p.setMouseEnabled(x=False, y=False)
        p.hideButtons()
        p.getAxis("bottom").setTicks([[(0, "L stance"), (1, "R stance")]])
        hi = max(b.poor_max or b.normal_max or 10.0 for b in self.bands.values())
        nmax = min(b.normal_max for b in self.bands.values() if b.normal_max is not None)
        p.addItem(pg.LinearRegionItem((min(-2.0, 0.0), nmax), orientation="horizontal",
                                      movable=False, brush=pg.mkBrush(*_GREEN, 50),
                                      pen=pg.mkPen(None)))
        p.addItem(pg.LinearRegionItem((nmax, hi), orientation="horizontal", movable=False,
                                      brush=pg.mkBrush(*_AMBER, 45), pen=pg.mkPen(None)))
        self.threshold_line = pg.InfiniteLine(angle=0, pen=pg.mkPen(
            *palette.rgb(palette.NEUTRAL), width=2, style=pg.QtCore.Qt.PenStyle.DashLine))
        p.addItem(self.threshold_line)
        self.bar = pg.BarGraphItem(x=[0, 1], height=[0.0, 0.0], width=0.6, brush="gray")
        p.addItem(self.bar)
        self.text = [pg.TextItem(anchor=(0.5, 1.0), color=(0, 0, 0)) for _ in SIDES]
        for t in self.text:
            p.addItem(t)
        p.setYRange(-2.0, hi + 3.0, padding=0)
        p.setXRange(-0.6, 1.6, padding=0)
        self.values_deg = {s: math.nan for s in SIDES}

    def set_values(self, drop_deg: dict[str, float], threshold_deg: dict[str, float]) -> None:
        """Show the drops (deg; NaN: no value yet) and the cue threshold (deg)."""
        self.values_deg = {s: float(drop_deg.get(s, math.nan)) for s in SIDES}
        h = [v if math.isfinite(v) else 0.0 for v in self.values_deg.values()]
        brushes = [pg.mkBrush(*palette.SIDE_RGB[s]) for s in SIDES]
        self.bar.setOpts(x=np.arange(2), height=h, brushes=brushes)
        thr = float(np.nanmean(list(threshold_deg.values())))
        for k, s in enumerate(SIDES):
            v = self.values_deg[s]
            self.text[k].setText(f"{v:.1f}° {band_word(v, self.bands[s])}"
                                 if math.isfinite(v) else "–")
            y = max(h[k], 0.0) + 1.6                  # the label's foot, above the bar
            if y <= thr <= y + LABEL_DEG:
                y = thr + 0.4                         # over the threshold line, not across it
            self.text[k].setPos(k, y)
        self.threshold_line.setValue(thr)

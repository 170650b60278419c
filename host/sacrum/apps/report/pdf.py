"""The report as a PDF, from the same blocks as the HTML (report/content.py).

Drawn with matplotlib's PdfPages on A4 pages: headings, paragraphs and tables as text
(selectable, searchable), figures as the same matplotlib figures the HTML embeds, rendered
at 300 dpi into the page flow. Why not print the HTML with a browser: the product must not
need Chromium, and this keeps one dependency (matplotlib) for both.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from sacrum.apps.report.content import Fig, Heading, Para, Report, Table
from sacrum.io.private_files import open_private

A4_IN = (8.27, 11.69)
MARGIN_IN = 0.6
FIG_DPI = 300
_SIZE = {1: 15, 2: 12.5, "p": 9.5, "summary": 10.5, "note": 7.5, "table": 7.5}
_CHAR_IN = 0.52 / 72  # mean character width per point of font size (DejaVu Sans), inches


class _Pages:
    """A4 pages filled top to bottom; a new page when a block does not fit."""

    def __init__(self, pdf: PdfPages, footer: str) -> None:
        self.pdf, self.footer, self.n = pdf, footer, 0
        self.fig: Figure | None = None
        self.y = 0.0

    @property
    def width(self) -> float:
        return A4_IN[0] - 2 * MARGIN_IN

    def need(self, h_in: float) -> None:
        if self.fig is None or self.y - h_in < MARGIN_IN:
            self.flush()
            self.fig = Figure(figsize=A4_IN)
            self.n += 1
            self.y = A4_IN[1] - MARGIN_IN

    def text(self, x_in: float, s: str, size: float, **kw) -> None:
        assert self.fig is not None
        self.fig.text(x_in / A4_IN[0], self.y / A4_IN[1], s, fontsize=size, va="top", **kw)

    def flush(self) -> None:
        if self.fig is not None:
            self.fig.text(0.5, MARGIN_IN / 2 / A4_IN[1], f"{self.footer} — page {self.n}",
                          ha="center", fontsize=7, color="0.4")
            self.pdf.savefig(self.fig)
            self.fig = None


def _wrap(s: str, width_in: float, size: float) -> list[str]:
    return textwrap.wrap(s, max(3, int(width_in / (size * _CHAR_IN)))) or [""]


def _table(p: _Pages, t: Table) -> None:
    size = _SIZE["table"]
    line_in = size * 1.35 / 72
    n = len(t.columns)
    # each column as wide as its longest cell, and at least its header's longest word (a
    # header wraps at its spaces; a word broken inside ran into the next column)
    weights = [min(max([len(r[i]) for r in t.rows]
                       + [math.ceil(len(w) / 0.85) + 1 for w in t.columns[i].split()]
                       + [min(len(t.columns[i]), 12), 3]), 60) for i in range(n)]
    widths = [p.width * w / sum(weights) for w in weights]
    if t.caption:  # wrapped to the text width, as figure captions are (it ran off the page)
        cap = _wrap(t.caption, p.width, size)
        # the caption with the header and the first rows (a caption alone at a page's foot)
        p.need(line_in * (len(cap) + 1) + min(len(t.rows) + 1, 4) * 2 * line_in)
        p.text(MARGIN_IN, "\n".join(cap), size, style="italic", color="0.35", linespacing=1.2)
        p.y -= line_in * len(cap)
    rows = ([t.columns] if any(t.columns) else []) + t.rows
    for k, row in enumerate(rows):
        bold = k == 0 and any(t.columns)  # bold runs wider than _CHAR_IN's mean
        cells = [_wrap(c, (w - 0.08) * (0.85 if bold else 1.0), size)
                 for c, w in zip(row, widths, strict=True)]
        h = max(len(c) for c in cells) * line_in + 0.04
        p.need(h)
        x = MARGIN_IN
        for c, w in zip(cells, widths, strict=True):
            p.text(x, "\n".join(c), size, weight="bold" if bold else None, linespacing=1.2)
            x += w
        p.y -= h
        assert p.fig is not None
        p.fig.add_artist(_hline(p.y + 0.02))
    p.y -= line_in


def _hline(y_in: float):
    from matplotlib.lines import Line2D

    return Line2D([MARGIN_IN / A4_IN[0], 1 - MARGIN_IN / A4_IN[0]], [y_in / A4_IN[1]] * 2,
                  color="0.85", lw=0.5)


def _pixels(fig: Figure, dpi: int = FIG_DPI) -> np.ndarray:
    """The figure drawn at ``dpi`` as an (h, w, 4) uint8 RGBA array: the raw buffer, without
    the PNG compression and decompression in between (a third of a report's PDF time)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="rgba", dpi=dpi)
    raw = np.frombuffer(buf.getvalue(), np.uint8)
    w_px = round(fig.get_size_inches()[0] * dpi)
    if w_px <= 0 or raw.size % (4 * w_px):  # an unexpected size: the PNG way, which knows it
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=dpi)
        png.seek(0)
        return mpimg.imread(png, format="png")
    return raw.reshape(-1, w_px, 4)


def _figure(p: _Pages, b: Fig) -> None:
    img = _pixels(b.figure)
    w_fig, h_fig = b.figure.get_size_inches()
    w = min(p.width, w_fig)
    h = h_fig * w / w_fig
    cap = _wrap(b.caption, p.width, _SIZE["note"])
    p.need(h + len(cap) * 0.14 + 0.15)
    assert p.fig is not None
    ax = p.fig.add_axes(((A4_IN[0] - w) / 2 / A4_IN[0], (p.y - h) / A4_IN[1],
                         w / A4_IN[0], h / A4_IN[1]))
    # "none": the PDF embeds the figure's pixels as they are (no resampling: sharp and fast)
    ax.imshow(img, interpolation="none")
    ax.set_axis_off()
    ax.set_gid(f"fig-{b.key}")
    p.y -= h + 0.05
    p.text(MARGIN_IN, "\n".join(cap), _SIZE["note"], color="0.35")
    p.y -= len(cap) * 0.14 + 0.1


def write_pdf(report: Report, path: str | os.PathLike) -> Path:
    """Write the report as a PDF (A4), 0600 and atomically (sacrum.io.private_files). The
    document's metadata hold the title (pseudonym and date) and the creator, no author."""
    path = Path(path)
    with open_private(path, "wb") as f, \
            PdfPages(f, metadata={"Title": report.title, "Creator": "sacrum report",
                                  "CreationDate": datetime.now(UTC)}) as pdf:
        pages = _Pages(pdf, report.title)
        for b in report.blocks:
            if isinstance(b, Heading):
                size = _SIZE[1 if b.level == 1 else 2]
                lines = _wrap(b.text, pages.width, size)
                pages.need(len(lines) * size * 1.5 / 72 + 1.2)  # keep a heading with its text
                pages.y -= 0.08
                pages.text(MARGIN_IN, "\n".join(lines), size, weight="bold")
                pages.y -= len(lines) * size * 1.5 / 72 + 0.06
            elif isinstance(b, Para):
                size = _SIZE[b.kind]
                lines = _wrap(b.text, pages.width, size)
                h = len(lines) * size * 1.35 / 72
                pages.need(h)
                pages.text(MARGIN_IN, "\n".join(lines), size, linespacing=1.25,
                           color="0.3" if b.kind == "note" else "0.05")
                pages.y -= h + size * 0.5 / 72
            elif isinstance(b, Table):
                _table(pages, b)
            elif isinstance(b, Fig):
                _figure(pages, b)
        pages.flush()
    return path

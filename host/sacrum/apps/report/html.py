"""The report as one self-contained HTML file: figures embedded as base64 PNG, styles inline,
no script, no external reference (it opens offline and can be mailed as one file)."""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

from matplotlib.figure import Figure

from sacrum.apps.report.content import Fig, Heading, Para, Report, Table
from sacrum.apps.report.figures import WIDTH_IN
from sacrum.io.private_files import write_private_text

#: PNG resolution: an A4-wide figure at 200 dpi prints sharp at full page width.
PNG_DPI = 200

_CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;max-width:60em;margin:1.5em auto;
 padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em;border-bottom:2px solid #444;padding-bottom:.2em}
h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #bbb}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.9em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}
caption{caption-side:top;text-align:left;font-style:italic;color:#555;padding:.2em 0}
figure{margin:1em 0;page-break-inside:avoid}
figure img{height:auto}
figcaption{font-size:.85em;color:#555}
p.summary{font-size:1.05em;margin:.35em 0}
p.note{font-size:.8em;color:#555;margin:.2em 0}
@media print{body{max-width:none;margin:0}h2{page-break-after:avoid}}
"""


def png_bytes(fig: Figure, dpi: int = PNG_DPI) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def render_html(report: Report) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{e(report.title)}</title><style>{_CSS}</style></head><body>"]
    for b in report.blocks:
        if isinstance(b, Heading):
            out.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            out.append(f'<p class="{b.kind}">{e(b.text)}</p>')
        elif isinstance(b, Table):
            head = "".join(f"<th>{e(c)}</th>" for c in b.columns) if any(b.columns) else ""
            rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>"
                           for r in b.rows)
            cap = f"<caption>{e(b.caption)}</caption>" if b.caption else ""
            tid = f' id="tab-{e(b.key.replace("/", "-"))}"' if b.key else ""
            out.append(f"<table{tid}>{cap}{f'<tr>{head}</tr>' if head else ''}{rows}</table>")
        elif isinstance(b, Fig):
            data = base64.b64encode(png_bytes(b.figure)).decode("ascii")
            # as wide as the figure was drawn, relative to the A4-wide ones
            pct = min(100.0, 100.0 * b.figure.get_size_inches()[0] / WIDTH_IN)
            out.append(f'<figure id="fig-{e(b.key.replace("/", "-"))}">'
                       f'<img style="width:{pct:.0f}%" alt="{e(b.caption)}" '
                       f'src="data:image/png;base64,{data}">'
                       f"<figcaption>{e(b.caption)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html(report: Report, path: str | os.PathLike) -> Path:
    """Write the report, 0600 and atomically: a reader never sees half a report, and no
    other account on the computer reads it (sacrum.io.private_files)."""
    return write_private_text(path, render_html(report))

"""The clinician report (``sacrum report``): one person's sessions as a self-contained HTML
file and a PDF, made from the analysis documents (docs/report.md).

content.py lays out what the report says (blocks); figures.py draws the figures;
exercises.py and running.py lay out (and draw) the pages of exercise and run tasks;
summary.py writes the plain-language summary; norms.py holds the reference envelopes of
the curves and the exercises' bands; html.py and pdf.py render the same blocks; cli.py
registers the commands.
Imported lazily: registering the commands must not load matplotlib.
"""

from __future__ import annotations

from typing import Any

_LAZY = {"Report": "content", "build_report": "content", "render_html": "html",
         "write_html": "html", "write_pdf": "pdf"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"sacrum.apps.report.{_LAZY[name]}"), name)
    raise AttributeError(name)


__all__ = ["Report", "build_report", "render_html", "write_html", "write_pdf"]

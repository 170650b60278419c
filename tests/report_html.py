"""Reading a rendered report back, for tests: the tables of the HTML by their id, and the
numbers in their cells (parsed, not matched as prose)."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

_NUMBER = re.compile(r"[-+−]?\d+(?:\.\d+)?")


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._id: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._id = a.get("id") or f"anonymous-{len(self.tables)}"
            self.tables[self._id] = []
        elif tag == "tr" and self._id:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._id:
            self.tables[self._id].append(self._row)
            self._row = None
        elif tag == "table":
            self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    """Every table of the HTML by its id (``tab-...``): rows of cell texts, the header row
    first."""
    p = _Tables()
    p.feed(html)
    return p.tables


def numbers(cell: str) -> list[float]:
    """The numbers in a cell, in order ("–" is none): "6.2 ± 0.4" -> [6.2, 0.4]."""
    return [float(x.replace("−", "-")) for x in _NUMBER.findall(cell)]


def shown(x: float | None, decimals: int) -> float:
    """A document value as the report prints it, rounded to ``decimals`` (NaN for null)."""
    return math.nan if x is None else float(f"{x:.{decimals}f}")

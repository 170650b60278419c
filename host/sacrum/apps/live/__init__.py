"""The live view (issue 6): a Qt-free session engine (``session``), the pyqtgraph window
(``window``, ``overlay``, ``feedback``, ``athlete``), a headless fallback (``headless``) and
the ``sacrum live`` command (``cli``). docs/live.md describes them.

Only ``session``, ``buffers`` and ``headless`` may be imported without Qt.
"""

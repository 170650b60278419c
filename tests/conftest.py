"""Test-session settings every test file relies on."""

import os

# Qt tests open real windows: offscreen unless a display was chosen (the Makefile sets
# the same; a bare `pytest tests/test_live_window.py` crashed without it)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

"""The one colour palette of every view and figure: live window, headless demo, report.

Left and right stance, turns, excluded steps and the score's bands are the same colours
wherever they appear, taken from the Okabe-Ito palette, which stays distinguishable with
the common colour-vision deficiencies (protanopia, deuteranopia, tritanopia) and in grey
print: left **blue**, right **vermillion** (they differ in lightness as well as hue),
turns yellow (a light shading), excluded steps and lost data grey, the normal band bluish
green, the caution band orange and the poor band reddish purple. Sides are always also
labelled in words ("left", "L").

Colours are ``#rrggbb`` strings (matplotlib, CSS); :func:`rgb` gives the (r, g, b) 0-255
tuples Qt and pyqtgraph take.

References: M. Okabe, K. Ito (2008), Color Universal Design (CUD): how to make figures
and presentations that are friendly to colorblind people, https://jfly.uni-koeln.de/color/;
B. Wong (2011), Points of view: Color blindness, Nat Methods 8:441.
"""

from __future__ import annotations

#: The eight Okabe-Ito colours.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#e69f00",
    "sky blue": "#56b4e9",
    "bluish green": "#009e73",
    "yellow": "#f0e442",
    "blue": "#0072b2",
    "vermillion": "#d55e00",
    "reddish purple": "#cc79a7",
}

#: Stance side: left and right.
SIDE = {"L": OKABE_ITO["blue"], "R": OKABE_ITO["vermillion"]}
#: A turn (a shaded span).
TURN = OKABE_ITO["yellow"]
#: Steps not used by the scorer, and lost samples.
EXCLUDED = "#999999"
#: Neutral lines and text (traces, reference lines).
NEUTRAL = "#444444"
#: The score's normal band, and the caution band beyond it.
NORMAL = OKABE_ITO["bluish green"]
CAUTION = OKABE_ITO["orange"]
POOR = OKABE_ITO["reddish purple"]
#: Tasks (spans and labels).
TASK = OKABE_ITO["bluish green"]
#: A cue (the biofeedback flash).
CUE = OKABE_ITO["orange"]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` as an (r, g, b) tuple of 0-255 ints."""
    h = hex_colour.lstrip("#")
    if len(h) != 6:
        raise ValueError(f"not a #rrggbb colour: {hex_colour!r}")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def tint(hex_colour: str, strength: float) -> str:
    """``hex_colour`` mixed with white: ``strength`` 1 is the colour, 0 white (for large
    shaded areas on a printed page)."""
    r, g, b = rgb(hex_colour)
    mix = (round(255 - strength * (255 - c)) for c in (r, g, b))
    return "#{:02x}{:02x}{:02x}".format(*mix)


#: :data:`SIDE` as (r, g, b) for Qt.
SIDE_RGB = {s: rgb(c) for s, c in SIDE.items()}

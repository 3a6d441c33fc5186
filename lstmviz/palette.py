"""Colours: one explicit scale per quantity, and gate and cell colours that survive colour blindness.

Cell and gate colours come from the Okabe & Ito (2008) palette, chosen so that every pair of cells
shown together (and every pair of gates of one cell) stays apart under simulated deuteranopia and
protanopia (Machado, Oliveira & Fernandes 2009); a test measures the distances. Colour is never the
only cue: cells also have a dash style, gates a bar pattern.

Colour scales are written out as lists, so no Plotly or Streamlit theme can replace them, and each
quantity has one scale on every page:

- :data:`SIGMOID_SCALE` (viridis) for sigmoid gates on 0..1;
- :data:`SIGNED_SCALE` (a blue-white-red diverging scale) for tanh values and states on -1..1;
- :data:`GRADIENT_SCALE` (magma: dark = vanished) for log10 of gradient magnitudes.
"""

from __future__ import annotations

GATE_COLOURS = {
    "i": "#0072B2",
    "f": "#E69F00",
    "g": "#009E73",
    "o": "#CC79A7",
    "r": "#56B4E9",
    "z": "#D55E00",
    "n": "#009E73",
    "f'": "#000000",
    "i'": "#56B4E9",
    "h": "#777777",
    "c": "#555555",
}
GATE_PATTERNS = {"i": "", "f": "/", "g": "\\", "o": "x", "r": "", "z": "/", "n": "\\", "f'": "x", "i'": ".",
                 "h": "", "c": ""}

SIGMOID_SCALE = [
    [0.0, "#440154"], [0.1, "#482475"], [0.2, "#414487"], [0.3, "#355f8d"], [0.4, "#2a788e"],
    [0.5, "#21918c"], [0.6, "#22a884"], [0.7, "#44bf70"], [0.8, "#7ad151"], [0.9, "#bddf26"],
    [1.0, "#fde725"],
]
SIGNED_SCALE = [
    [0.0, "#053061"], [0.1, "#2166ac"], [0.2, "#4393c3"], [0.3, "#92c5de"], [0.4, "#d1e5f0"],
    [0.5, "#f7f7f7"], [0.6, "#fddbc7"], [0.7, "#f4a582"], [0.8, "#d6604d"], [0.9, "#b2182b"],
    [1.0, "#67001f"],
]
GRADIENT_SCALE = [
    [0.0, "#000004"], [0.1, "#140e36"], [0.2, "#3b0f70"], [0.3, "#641a80"], [0.4, "#8c2981"],
    [0.5, "#b73779"], [0.6, "#de4968"], [0.7, "#f7705c"], [0.8, "#fe9f6d"], [0.9, "#fecf92"],
    [1.0, "#fcfdbf"],
]


def gate_colour(letter: str) -> str:
    return GATE_COLOURS.get(letter, "#777777")


def gate_pattern(letter: str) -> str:
    return GATE_PATTERNS.get(letter, "")

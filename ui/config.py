"""The app's settings as one frozen :class:`AppConfig`, and its round trip through the URL query string.

No Streamlit here: :func:`to_query` and :func:`from_query` work on plain dicts, so links can be tested
without a browser. The sequence travels as its preset (name, length, seed) and, when the box was edited
and its text is short enough (:data:`MAX_LINK_TEXT` characters), as the text itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from lstmviz.model import CELLS, GRU_VARIANTS, INITS
from lstmviz.sequences import MAX_STEPS, PRESETS, format_sequence, preset

TEXT_PRESET = "早上好"
"""The Unicode text preset of the tutorials' worked example: three characters, one-hot."""

PRESET_CHOICES = (*PRESETS, TEXT_PRESET)
MODES = ("numbers", "text")
LOSSES = ("last", "all")
MAX_HIDDEN = 256
MAX_LAYERS = 3
SCALE_RANGE = (0.0, 10.0)
FORGET_BIAS_RANGE = (-5.0, 10.0)
MAX_LINK_TEXT = 2_000
"""Longest typed sequence put into a link; a longer one leaves the link with its preset only."""


@dataclass(frozen=True)
class AppConfig:
    """Everything a view depends on. ``text`` is what the box holds and is what gets traced;
    ``edited`` says whether it still equals the preset it was filled from (then the exact preset
    values are traced, not their 6-digit rendering in the box)."""

    preset: str = "impulse"
    preset_length: int = 30
    preset_seed: int = 0
    edited: bool = False
    mode: str = "numbers"
    text: str = ""
    cells: tuple[str, ...] = CELLS
    gru_variant: str = "pytorch"
    hidden_size: int = 16
    num_layers: int = 1
    bidirectional: bool = False
    seed: int = 0
    init: str = "pytorch"
    recurrent_scale: float = 1.0
    forget_bias: float = 2.0
    loss: str = "last"
    models_key: str = ""
    """A digest of models supplied by :func:`ui.models.use_models` ("" for freshly built cells)."""


def preset_text(name: str, length: int, seed: int) -> tuple[str, str]:
    """(mode, box text) for a preset: the parser's format of its values, or the Unicode text."""
    if name == TEXT_PRESET:
        return "text", TEXT_PRESET
    return "numbers", format_sequence(preset(name, length, seed))


def default_config() -> AppConfig:
    base = AppConfig()
    mode, text = preset_text(base.preset, base.preset_length, base.preset_seed)
    return replace(base, mode=mode, text=text)


# ---------------------------------------------------------------------------------------------
# Query string


_KEYS = {
    "preset": "preset",
    "preset_length": "len",
    "preset_seed": "pseed",
    "cells": "cells",
    "gru_variant": "gru",
    "hidden_size": "hidden",
    "num_layers": "layers",
    "bidirectional": "bidir",
    "seed": "seed",
    "init": "init",
    "recurrent_scale": "scale",
    "forget_bias": "fbias",
    "loss": "loss",
}


def to_query(config: AppConfig) -> dict[str, str]:
    """The query parameters that reproduce ``config`` (models supplied in code are not in links)."""
    params = {}
    for name, key in _KEYS.items():
        value = getattr(config, name)
        if isinstance(value, bool):
            params[key] = "1" if value else "0"
        elif isinstance(value, tuple):
            params[key] = ",".join(value) or "none"
        else:
            params[key] = repr(value) if isinstance(value, float) else str(value)
    if text_in_link(config):
        params["mode"] = config.mode
        params["text"] = config.text
    return params


def text_in_link(config: AppConfig) -> bool:
    """Whether a link carries the typed text (edited and short enough)."""
    return config.edited and len(config.text) <= MAX_LINK_TEXT


def from_query(params: dict[str, str]) -> tuple[AppConfig, list[str]]:
    """The config a link describes, and a message for each parameter that was ignored as invalid."""
    values: dict[str, object] = {}
    problems: list[str] = []
    default = AppConfig()
    for field in fields(AppConfig):
        key = _KEYS.get(field.name)
        if key is None or key not in params:
            continue
        try:
            values[field.name] = _PARSERS[field.name](params[key])
        except ValueError as error:
            problems.append(f"{key}={params[key]!r} ignored: {error}")
    config = replace(default, **values)
    mode, text = preset_text(config.preset, config.preset_length, config.preset_seed)
    config = replace(config, mode=mode, text=text)
    if "text" in params:
        mode = params.get("mode", "numbers")
        if mode not in MODES:
            problems.append(f"mode={mode!r} ignored: choose one of {', '.join(MODES)}")
            mode = "numbers"
        config = replace(config, mode=mode, text=params["text"], edited=True)
    return config, problems


def _int_in(low: int, high: int):
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"must be an integer in {low}..{high}")
        return value

    return parse


def _float_in(low: float, high: float):
    def parse(text: str) -> float:
        value = float(text)
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"must be a number in {low:g}..{high:g}")
        return value

    return parse


def _choice(options):
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"choose one of {', '.join(options)}")
        return text

    return parse


def _cells(text: str) -> tuple[str, ...]:
    chosen = () if text == "none" else tuple(c for c in text.split(",") if c)
    unknown = [c for c in chosen if c not in CELLS]
    if unknown:
        raise ValueError(f"unknown cell {unknown[0]!r}; choose from {', '.join(CELLS)}")
    return tuple(c for c in CELLS if c in chosen)


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError("must be 0 or 1")
    return text == "1"


_PARSERS = {
    "preset": _choice(PRESET_CHOICES),
    "preset_length": _int_in(2, MAX_STEPS),
    "preset_seed": _int_in(0, 2**31 - 1),
    "cells": _cells,
    "gru_variant": _choice(GRU_VARIANTS),
    "hidden_size": _int_in(1, MAX_HIDDEN),
    "num_layers": _int_in(1, MAX_LAYERS),
    "bidirectional": _flag,
    "seed": _int_in(0, 2**31 - 1),
    "init": _choice(INITS),
    "recurrent_scale": _float_in(*SCALE_RANGE),
    "forget_bias": _float_in(*FORGET_BIAS_RANGE),
    "loss": _choice(LOSSES),
}

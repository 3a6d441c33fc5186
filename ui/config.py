"""The app's settings as one frozen :class:`AppConfig`, and its round trip through the URL query string.

No Streamlit here: :func:`to_query` and :func:`from_query` work on plain dicts, so links can be tested
without a browser. The model settings are the library's :class:`lstmviz.ModelSettings` (one object,
validated once: a link's value is checked by the same rules as ``lstmviz.build``). The sequence
travels as its preset (name, length, seed) and, when the box was edited and its text is short enough
(:data:`MAX_LINK_TEXT` characters), as the text itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace

from lstmviz import CELL_NAMES, DEFAULT_CELLS, Clamp, ModelSettings
from lstmviz.limits import MAX_STEPS
from lstmviz.sequences import PRESETS, format_sequence, preset

TEXT_PRESET = "早上好"
"""The Unicode text preset of the tutorials' worked example: three characters, one-hot."""

PRESET_CHOICES = (*PRESETS, TEXT_PRESET)
MODES = ("numbers", "text")
LOSSES = ("last", "all")
MAX_CLAMPS = 16
"""Most interventions one view holds."""
MAX_LINK_TEXT = 2_000
"""Longest typed sequence put into a link; a longer one leaves the link with its preset only."""

DEFAULT_MODEL = ModelSettings(hidden_size=16, forget_bias=2.0)
"""The app's fresh cells: 16 units, and a forget-gate bias of 2 so the LSTM starts remembering."""


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
    cells: tuple[str, ...] = DEFAULT_CELLS
    model: ModelSettings = DEFAULT_MODEL
    loss: str = "last"
    interventions: tuple[tuple[str, Clamp], ...] = ()
    """Clamps, each for one cell: (cell name, :class:`lstmviz.Clamp`)."""
    models_key: str = ""
    """A digest of loaded models (see :mod:`ui.models`); "" when every cell is freshly built."""


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

_SEQUENCE_KEYS = {"preset": "preset", "preset_length": "len", "preset_seed": "pseed"}
_MODEL_KEYS = {
    "hidden_size": "hidden",
    "num_layers": "layers",
    "bidirectional": "bidir",
    "bias": "bias",
    "proj_size": "proj",
    "nonlinearity": "nl",
    "gru_variant": "gru",
    "init": "init",
    "recurrent_scale": "scale",
    "forget_bias": "fbias",
    "seed": "seed",
}
CONFIG_KEYS = frozenset({*_SEQUENCE_KEYS.values(), *_MODEL_KEYS.values(),
                         "cells", "loss", "mode", "text", "clamp"})
"""Every query parameter the config reads (the view adds its own: page, step, unit ...)."""


def to_query(config: AppConfig) -> dict[str, str]:
    """The query parameters that reproduce ``config`` (loaded models are not in links)."""
    params = {key: _text(getattr(config, name)) for name, key in _SEQUENCE_KEYS.items()}
    params["cells"] = ",".join(config.cells) or "none"
    params |= {key: _text(getattr(config.model, name)) for name, key in _MODEL_KEYS.items()}
    params["loss"] = config.loss
    if config.interventions:
        params["clamp"] = clamps_text(config.interventions)
    if text_in_link(config):
        params["mode"] = config.mode
        params["text"] = config.text
    return params


def _text(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return repr(value) if isinstance(value, float) else str(value)


def text_in_link(config: AppConfig) -> bool:
    """Whether a link carries the typed text (edited and short enough)."""
    return config.edited and len(config.text) <= MAX_LINK_TEXT


def from_query(params: dict[str, str]) -> tuple[AppConfig, list[str]]:
    """The config a link describes, and a message for each parameter that was ignored as invalid.

    Messages quote the parameter's name and value; the app shows them as plain text.
    """
    problems: list[str] = []
    sequence = {}
    for name, key in _SEQUENCE_KEYS.items():
        if key in params:
            try:
                sequence[name] = _SEQUENCE_PARSERS[name](params[key])
            except ValueError as error:
                problems.append(f"{key}={params[key]!r} ignored: {error}")
    model = DEFAULT_MODEL
    for name, key in _MODEL_KEYS.items():
        if key in params:
            try:
                model = replace(model, **{name: _typed(name, params[key])})
            except ValueError as error:
                problems.append(f"{key}={params[key]!r} ignored: {error}")
    config = replace(AppConfig(), **sequence, model=model)
    for key, parse, name in (("cells", _cells, "cells"), ("loss", _choice(LOSSES), "loss"),
                             ("clamp", parse_clamps, "interventions")):
        if key in params:
            try:
                config = replace(config, **{name: parse(params[key])})
            except ValueError as error:
                problems.append(f"{key}={params[key]!r} ignored: {error}")
    mode, text = preset_text(config.preset, config.preset_length, config.preset_seed)
    config = replace(config, mode=mode, text=text)
    if "text" in params:
        mode = params.get("mode", "numbers")
        if mode not in MODES:
            problems.append(f"mode={mode!r} ignored: choose one of {', '.join(MODES)}")
            mode = "numbers"
        config = replace(config, mode=mode, text=params["text"], edited=True)
    return config, problems


def clamp_text(cell: str, clamp: Clamp) -> str:
    """One clamp as a link writes it: ``lstm.f=1:5-20``, then ``:u0.2`` (units), ``:l1`` (layer), ``:r``."""
    text = f"{cell}.{clamp.name}={clamp.value:g}:{clamp.steps[0]}-{clamp.steps[1]}"
    if clamp.units is not None:
        text += ":u" + ".".join(map(str, clamp.units))
    if clamp.layer:
        text += f":l{clamp.layer}"
    if clamp.direction:
        text += ":r"
    return text


def clamps_text(interventions) -> str:
    return ";".join(clamp_text(cell, clamp) for cell, clamp in interventions)


_CLAMP = re.compile(r"(?P<cell>\w+)\.(?P<name>[\w']+)=(?P<value>[-+0-9.eE]+):"
                    r"(?P<start>\d{1,5})-(?P<stop>\d{1,5})"
                    r"(?P<options>(?::(?:u\d{1,4}(?:\.\d{1,4}){0,63}|l\d|r))*)")


def parse_clamps(text: str) -> tuple[tuple[str, Clamp], ...]:
    """The clamps a link describes (see :func:`clamp_text`); a ValueError naming the first bad one."""
    parsed = []
    for part in [p for p in text.split(";") if p][:MAX_CLAMPS + 1]:
        match = _CLAMP.fullmatch(part)
        if match is None or match["cell"] not in CELL_NAMES:
            raise ValueError(f"a clamp reads like lstm.f=1:5-20 (optionally :u0.2 units, :l1 layer, "
                             f":r reverse); got {part[:60]!r}")
        options = match["options"].split(":")[1:]
        units = next((tuple(int(u) for u in o[1:].split(".")) for o in options if o.startswith("u")), None)
        layer = next((int(o[1:]) for o in options if o.startswith("l")), 0)
        clamp = Clamp(match["name"], float(match["value"]), (int(match["start"]), int(match["stop"])),
                      units, layer, int("r" in options))
        parsed.append((match["cell"], clamp))
    if len(parsed) > MAX_CLAMPS:
        raise ValueError(f"at most {MAX_CLAMPS} clamps")
    return tuple(parsed)


_FIELD_TYPES = {f.name: f.type for f in fields(ModelSettings)}


def _typed(name: str, text: str):
    """A link's text as the ModelSettings field's type (the dataclass then checks its range)."""
    kind = _FIELD_TYPES[name]
    if kind == "bool":
        return _flag(text)
    if kind == "int":
        return _integer(text)
    if kind == "float":
        value = float(text)
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value
    return text


def _integer(text: str) -> int:
    if not text.strip().lstrip("+-").isdigit() or len(text) > 12:
        raise ValueError("must be a whole number")
    return int(text)


def _int_in(low: int, high: int):
    def parse(text: str) -> int:
        value = _integer(text)
        if not low <= value <= high:
            raise ValueError(f"must be an integer in {low}..{high}")
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
    unknown = [c for c in chosen if c not in CELL_NAMES]
    if unknown:
        raise ValueError(f"unknown cell {unknown[0]!r}; choose from {', '.join(CELL_NAMES)}")
    return tuple(c for c in CELL_NAMES if c in chosen)


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError("must be 0 or 1")
    return text == "1"


_SEQUENCE_PARSERS = {
    "preset": _choice(PRESET_CHOICES),
    "preset_length": _int_in(2, MAX_STEPS),
    "preset_seed": _int_in(0, 2**31 - 1),
}

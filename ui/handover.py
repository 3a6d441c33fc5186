"""Hand models and a matching sequence over to every page (from the training lab's callbacks)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lstmviz import CELL_NAMES, Model
from lstmviz.sequences import format_sequence

from . import page
from .compute import sequence
from .config import preset_text
from .models import use_models
from .sidebar import hand_over


def open_models(label: str, models: dict[str, Model], *, preset: str | None = None, length: int = 0,
                seed: int = 0) -> str:
    """Trace ``models`` on every page, enable their cells, and give the sidebar a sequence they can read.

    With ``preset`` the sidebar shows that preset; otherwise it keeps its sequence if the width fits,
    or gets one that does. Returns a sentence saying what changed in the sidebar ("" if nothing).
    """
    use_models(label, models)
    current = page.config()
    cells = tuple(c for c in CELL_NAMES if c in set(current.cells) | set(models))
    config = replace(current, cells=cells, loss="last")
    note = ""
    if preset is not None:
        mode, text = preset_text(preset, length, seed)
        config = replace(config, preset=preset, preset_length=length, preset_seed=seed, mode=mode, text=text,
                         edited=False)
    else:
        width = next(iter(models.values())).spec.input_size
        config, note = _fit_input(config, width)
    hand_over(config)
    return note


def _fit_input(config, width: int):
    try:
        if sequence(config)[0].shape[1] == width:
            return config, ""
    except ValueError:
        pass
    if width == 1:
        mode, text = preset_text("impulse", 30, 0)
        config = replace(config, preset="impulse", preset_length=30, preset_seed=0, mode=mode, text=text,
                         edited=False)
        return config, "The sidebar now holds the impulse preset (one feature per step)."
    values = np.random.default_rng(0).standard_normal((20, width)).round(3)
    config = replace(config, mode="numbers", text=format_sequence(values), edited=True)
    return config, (f"The model reads {width} features per step, so the sidebar now holds 20 random steps of "
                    f"{width} values: replace them with your own sequence.")

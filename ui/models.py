"""Loaded models: trained ones from the training lab, an uploaded state_dict, or the shipped example.

``use_models("trained on adding, step 500", {"lstm": model, "gru": other})`` makes every page trace
these models for their cells, until :func:`clear_models` (the sidebar offers a button). A loaded model
stands in for its cell kind only: the other enabled cells are still built fresh from the sidebar's
settings, with the loaded model's input size, so a trained LSTM can be shown beside a fresh RNN.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import astuple, dataclass

import streamlit as st

from lstmviz import CELL_NAMES, Model

_STATE_KEY = "lstmviz_models"


@dataclass(frozen=True)
class LoadedModels:
    label: str
    models: dict[str, Model]
    key: str  # digest of specs and weights: part of the cache key

    def describe(self) -> str:
        """The loaded models' real sizes, e.g. "LSTM: 1 layer, input 1, hidden 32"."""
        parts = []
        for model in self.models.values():
            spec = model.spec
            extra = [f"{spec.num_layers} layer{'s' if spec.num_layers > 1 else ''}",
                     f"input {spec.input_size}", f"hidden {spec.hidden_size}"]
            extra += (["bidirectional"] * spec.bidirectional
                      + [f"proj_size {spec.proj_size}"] * bool(spec.proj_size))
            extra += ["no bias"] * (not spec.bias)
            parts.append(f"{model_title(model)}: {', '.join(extra)}")
        return "; ".join(parts)


def model_title(model: Model) -> str:
    from lstmviz.cells import cell_for

    return cell_for(model.spec).title


def models_digest(models: Mapping[str, Model]) -> str:
    """A digest of the models' specs and weights, so a changed weight means a new cache entry."""
    digest = hashlib.sha256()
    for cell in sorted(models):
        model = models[cell]
        digest.update(repr((cell, astuple(model.spec))).encode())
        for name in sorted(model.weights):
            digest.update(name.encode())
            digest.update(model.weights[name].tobytes())
    return digest.hexdigest()[:16]


def use_models(label: str, models: dict[str, Model]) -> None:
    """Trace ``models`` (keyed by their cell name) on every page instead of fresh cells of their kind."""
    if not models:
        raise ValueError("use_models needs at least one model")
    for cell, model in models.items():
        if cell not in CELL_NAMES or model.spec.cell != cell:
            raise ValueError(f"models must be keyed by their cell ({', '.join(CELL_NAMES)}); got {cell!r}")
    inputs = {model.spec.input_size for model in models.values()}
    if len(inputs) > 1:
        raise ValueError(f"loaded models must read the same input size, got {sorted(inputs)}")
    st.session_state[_STATE_KEY] = LoadedModels(label, dict(models), models_digest(models))


def clear_models() -> None:
    """Go back to freshly built cells from the sidebar's settings."""
    st.session_state.pop(_STATE_KEY, None)


def loaded_models() -> LoadedModels | None:
    return st.session_state.get(_STATE_KEY)

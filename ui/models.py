"""Models other than the sidebar's fresh cells (for example trained ones from the training lab).

``use_models("trained on adding, step 500", {"lstm": model, "gru": other})`` makes every page trace
these models instead of freshly built ones, until :func:`clear_models` (the sidebar offers a button).
Keys are cell names ("rnn", "lstm", "gru"); each model's spec must be of that cell.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import astuple, dataclass

import streamlit as st

from lstmviz import Model
from lstmviz.model import CELLS

_STATE_KEY = "lstmviz_models"


@dataclass(frozen=True)
class ActiveModels:
    label: str
    models: dict[str, Model]
    key: str  # digest of specs and weights: part of the cache key


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
    """Trace ``models`` (keyed "rnn"/"lstm"/"gru") on every page instead of fresh cells."""
    for cell, model in models.items():
        if cell not in CELLS or model.spec.cell != cell:
            raise ValueError(f"models must be keyed by their cell ({', '.join(CELLS)}); got {cell!r}")
    if not models:
        raise ValueError("use_models needs at least one model")
    st.session_state[_STATE_KEY] = ActiveModels(label, dict(models), models_digest(models))


def clear_models() -> None:
    """Go back to freshly built cells from the sidebar's settings."""
    st.session_state.pop(_STATE_KEY, None)


def active_models() -> ActiveModels | None:
    return st.session_state.get(_STATE_KEY)

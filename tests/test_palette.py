"""Colours stay apart under colour-vision deficiency, and colour is never the only cue."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lstmviz.cells import REGISTRY
from lstmviz.palette import GATE_COLOURS, GATE_PATTERNS

# Machado, Oliveira & Fernandes (2009), severity 1.0, applied to linear RGB.
SIMULATIONS = {
    "normal": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}
MIN_DELTA_E = 15.0  # CIE76 distance in CIELAB: clearly distinct side by side


def _lab(colour: str, simulation: np.ndarray) -> np.ndarray:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(simulation @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    r = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(r > 216 / 24389, np.cbrt(r), (24389 / 27 * r + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _closest(colours: list[str]) -> dict[str, float]:
    return {
        name: min(np.linalg.norm(_lab(a, m) - _lab(b, m)) for a, b in itertools.combinations(colours, 2))
        for name, m in SIMULATIONS.items()
    }


def test_the_cells_stay_apart_under_deuteranopia_and_protanopia():
    distances = _closest([cell.colour for cell in REGISTRY.values()])
    assert min(distances.values()) >= MIN_DELTA_E, distances
    assert len({cell.dash for cell in REGISTRY.values()}) == len(REGISTRY)  # and dashes tell them apart


@pytest.mark.parametrize("name", list(REGISTRY))
def test_the_gates_of_a_cell_stay_apart(name):
    gates = list(REGISTRY[name].gates)
    if len(gates) < 2:
        return
    distances = _closest([GATE_COLOURS[g] for g in gates])
    assert min(distances.values()) >= MIN_DELTA_E, (name, distances)
    assert len({GATE_PATTERNS[g] for g in gates}) == len(gates)  # and hatching tells them apart


def test_the_old_red_and_green_would_fail():
    """The check can fail: PyTorch-style red and green merge under deuteranopia."""
    assert _closest(["#d62728", "#2ca02c"])["deuteranopia"] < MIN_DELTA_E

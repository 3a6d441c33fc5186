"""Connectivity (||d output_t / d x_s||_F for every pair) against autograd, the step input Jacobians
it is built from against jacrev of every cell's reference step, with and without clamps, and the
spectrum of d s_t / d s_{t-1} against the eigenvalues of jacrev Jacobians (every cell, clamped gates,
layer 1 reverse; minGRU and minLSTM: exactly their carry factors)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from test_cells import VARIANTS, _clamps_for, _hook, _id, _model

import lstmviz
from lstmviz.cells import cell_for
from lstmviz.connectivity import connectivity, sources_per_block
from lstmviz.trace import order

STACKS = [(1, False), (2, False), (1, True), (2, True)]


def _initial_states(model, rng):
    spec = model.spec
    count = spec.num_layers * spec.directions
    h0 = rng.normal(size=(count, spec.output_size))
    c0 = rng.normal(size=(count, spec.hidden_size)) if cell_for(spec).cell_state else None
    return h0, c0


def reference_stack(model, h0, c0, clamps=()):
    """x (T, D) -> output (T, dirs * H_out): the cells' torch reference steps, stacked like torch.nn."""
    spec, cell = model.spec, cell_for(model.spec)

    def run(x):
        layer_input = x
        for layer in range(spec.num_layers):
            outputs = []
            for d in range(spec.directions):
                index = layer * spec.directions + d
                p = {k: torch.from_numpy(v) for k, v in model.params(layer, d).items()}
                state = (torch.from_numpy(h0[index]),)
                if cell.cell_state:
                    state += (torch.from_numpy(c0[index]),)
                hs = [None] * len(x)
                for t in range(len(x) - 1, -1, -1) if d else range(len(x)):
                    state = cell.reference_step(p, layer_input[t], state, _hook(clamps, layer, d, t))
                    hs[t] = state[0]
                outputs.append(torch.stack(hs))
            layer_input = torch.cat(outputs, dim=1)
        return layer_input

    return run


def _autograd_connectivity(function, x):
    jac = torch.autograd.functional.jacobian(function, torch.from_numpy(x), vectorize=True)  # (T, m, T, D)
    return jac.square().sum(dim=(1, 3)).sqrt().numpy()


def _stacked(cfg, layers, bidirectional, **extra):
    return _model({**cfg, "num_layers": layers, "bidirectional": bidirectional, "bias": True}, seed=4,
                  input_size=3, hidden=5, **extra)


# ---------------------------------------------------------------------------------------------
# The step input Jacobians


@pytest.mark.parametrize("clamped", [False, True], ids=["free", "clamped"])
@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_step_input_jacobians_equal_jacrev(cfg, clamped):
    model = _model({**cfg, "bias": True, "recurrent_scale": 1.5}, seed=3, input_size=2, hidden=5)
    cell = cell_for(model.spec)
    x = np.random.default_rng(8).normal(size=(9, 2))
    clamps = _clamps_for(cell) if clamped else []
    tr = lstmviz.trace(model, x, dtype="float64", interventions=clamps)
    lt = tr.layers[0][0]
    p = {k: torch.from_numpy(v) for k, v in model.params(0, 0).items()}
    previous = [np.vstack([lt.h0, lt.h[:-1]])] + ([np.vstack([lt.c0, lt.c[:-1]])] if cell.cell_state else [])
    ours = cell.step_input_jacobians(model.params(0, 0), tr.runs[0][0], slice(0, 9))
    assert ours.shape == (9, cell.state_size(), 2)
    for t in range(9):
        def step(x_t, t=t):
            state = tuple(torch.from_numpy(s[t]) for s in previous)
            return torch.cat(cell.reference_step(p, x_t, state, _hook(clamps, 0, 0, t)))

        expected = torch.func.jacrev(step)(torch.from_numpy(x[t]))
        np.testing.assert_allclose(ours[t], expected.numpy(), atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Connectivity against autograd


TWINS = [c for c in VARIANTS if cell_for(lstmviz.ModelSpec(input_size=1, hidden_size=4, **c)).torch_twin]


@pytest.mark.parametrize("layers, bidirectional", STACKS, ids=lambda v: str(v))
@pytest.mark.parametrize("cfg", TWINS, ids=_id)
def test_connectivity_equals_autograd_of_the_torch_module(cfg, layers, bidirectional):
    model = _stacked(cfg, layers, bidirectional)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 3))
    h0, c0 = _initial_states(model, rng)
    module = lstmviz.to_torch(model, torch.float64)
    state = torch.from_numpy(h0) if c0 is None else (torch.from_numpy(h0), torch.from_numpy(c0))
    expected = _autograd_connectivity(lambda xt: module(xt, state)[0], x)
    np.testing.assert_allclose(connectivity(model, x, h0=h0, c0=c0), expected, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("layers, bidirectional", STACKS, ids=lambda v: str(v))
@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_connectivity_equals_autograd_of_the_reference_steps(cfg, layers, bidirectional):
    model = _stacked(cfg, layers, bidirectional)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(7, 3))
    h0, c0 = _initial_states(model, rng)
    expected = _autograd_connectivity(reference_stack(model, h0, c0), x)
    np.testing.assert_allclose(connectivity(model, x, h0=h0, c0=c0), expected, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("where", [(0, 0), (1, 1)], ids=["layer0", "layer1-reverse"])
@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_connectivity_with_clamps_equals_autograd(cfg, where):
    model = _stacked(cfg, 2, True)
    x = np.random.default_rng(3).normal(size=(9, 3))
    clamps = _clamps_for(cell_for(model.spec), *where)
    zeros = _initial_states(model, np.random.default_rng(0))
    h0, c0 = (None if s is None else np.zeros_like(s) for s in zeros)
    expected = _autograd_connectivity(reference_stack(model, h0, c0, clamps), x)
    np.testing.assert_allclose(connectivity(model, x, interventions=clamps), expected, rtol=1e-9, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Structure, blocks and budget


@pytest.mark.parametrize("cell", lstmviz.CELL_NAMES)
def test_a_forward_stack_is_causal_and_a_bidirectional_one_is_not(cell):
    x = np.random.default_rng(0).normal(size=(12, 2))
    forward = connectivity(lstmviz.build(cell, 2, 4, num_layers=2, seed=1), x)
    assert np.all(np.triu(forward, 1) == 0)
    assert np.all(forward[np.tril_indices(12)] > 0)
    both = connectivity(lstmviz.build(cell, 2, 4, num_layers=2, bidirectional=True, seed=1), x)
    assert np.all(both > 0)


def test_clamping_the_state_cuts_every_earlier_input():
    model = lstmviz.build("lstm", 1, 4, seed=0)
    x = np.random.default_rng(0).normal(size=(10, 1))
    cut = connectivity(model, x, interventions=[lstmviz.Clamp(name, 0.0, (5, 6)) for name in "hc"])
    assert np.all(cut[5:, :6] == 0) and np.all(cut[6:, 6:][np.tril_indices(4)] > 0)
    np.testing.assert_allclose(cut[:5], connectivity(model, x)[:5], rtol=1e-14, atol=0)


def test_blocks_of_source_steps_give_the_same_map(monkeypatch):
    model = lstmviz.build("gru", 3, 4, num_layers=3, bidirectional=True, seed=2)
    x = np.random.default_rng(1).normal(size=(11, 3))
    whole = connectivity(model, x)
    module = importlib.import_module("lstmviz.connectivity")
    monkeypatch.setattr(module, "CONNECTIVITY_CHUNK_BYTES", 2 * 8 * 11 * 2 * 4 * 3 * 4)
    assert sources_per_block(model.spec, 11) == 4
    np.testing.assert_allclose(connectivity(model, x), whole, rtol=1e-12, atol=0)


def test_norms_are_exact_far_below_the_square_of_the_smallest_double():
    model = lstmviz.build("rnn", 1, 4, seed=0, recurrent_scale=0.05)
    x = np.random.default_rng(0).normal(size=(110, 1))
    conn = connectivity(model, x)
    w_hh, w_ih = model.weights["weight_hh_l0"], model.weights["weight_ih_l0"]
    slope = 1 - lstmviz.trace(model, x, dtype="float64").layers[0][0].h ** 2
    tangent = slope[0][:, None] * w_ih
    for t in range(1, 110):
        tangent = (slope[t][:, None] * w_hh) @ tangent
    assert conn[109, 0] < 1e-160
    assert conn[109, 0] == pytest.approx(np.linalg.norm(tangent * 1e200) / 1e200, rel=1e-9)


def test_budget_is_checked_before_any_work():
    with pytest.raises(ValueError, match="use fewer steps"):
        connectivity(lstmviz.build("lstm", 1, 512, seed=0), np.zeros((3000, 1)))
    with pytest.raises(ValueError, match="use fewer steps"):
        connectivity(lstmviz.build("rnn", 1, 4, seed=0), np.zeros((9000, 1)))
    with pytest.raises(ValueError, match="Model"):
        connectivity(torch.nn.LSTM(1, 4), np.zeros((3, 1)))


def test_one_step_and_many_features():
    model = lstmviz.build("minlstm", 5, 3, seed=0)
    x = np.random.default_rng(0).normal(size=(1, 5))
    jac = cell_for(model.spec).step_input_jacobians(
        model.params(0, 0), lstmviz.trace(model, x, dtype="float64").runs[0][0], slice(0, 1))
    np.testing.assert_allclose(connectivity(model, x), [[np.linalg.norm(jac[0])]], rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# The spectrum of d s_t / d s_{t-1}


def _matched(ours, expected, tol):
    """Pair each eigenvalue of ``ours`` with the nearest unused one of ``expected``: the largest gap."""
    left, gap = list(expected), 0.0
    for value in ours:
        nearest = min(range(len(left)), key=lambda k: abs(left[k] - value))
        gap = max(gap, abs(left.pop(nearest) - value))
    return gap <= tol


@pytest.mark.parametrize("where", [(0, 0), (1, 1)], ids=["layer0", "layer1-reverse"])
@pytest.mark.parametrize("clamped", [False, True], ids=["free", "clamped"])
@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_spectrum_equals_eigenvalues_of_jacrev_of_the_reference_step(cfg, clamped, where):
    layer, d = where
    model = _stacked(cfg, 2, True, recurrent_scale=1.5)
    cell = cell_for(model.spec)
    x = np.random.default_rng(6).normal(size=(9, 3))
    clamps = _clamps_for(cell, layer, d) if clamped else []
    tr = lstmviz.trace(model, x, dtype="float64", interventions=clamps)
    layer_input = x if layer == 0 else np.concatenate([lt.h for lt in tr.layers[0]], axis=1)
    lt = tr.layers[layer][d]
    states = [lt.h, lt.c] if cell.cell_state else [lt.h]
    initial = [lt.h0, lt.c0] if cell.cell_state else [lt.h0]
    p = {k: torch.from_numpy(v) for k, v in model.params(layer, d).items()}
    split = model.spec.output_size
    times = np.arange(9)
    eig, sv = lstmviz.spectrum(tr, layer, d, times)
    for t in times:
        before = t + 1 if d else t - 1  # the step processed just before t
        previous = np.concatenate([s[before] if 0 <= before < 9 else s0
                                   for s, s0 in zip(states, initial, strict=True)])

        def step(s, t=t):
            state = (s[:split], s[split:]) if cell.cell_state else (s,)
            return torch.cat(cell.reference_step(p, torch.from_numpy(layer_input[t]), state,
                                                 _hook(clamps, layer, d, t)))

        jac = torch.func.jacrev(step)(torch.from_numpy(previous)).numpy()
        assert _matched(eig[t], np.linalg.eigvals(jac), 1e-9 * max(1.0, np.abs(jac).max())), t
        np.testing.assert_allclose(sv[t], np.linalg.svd(jac, compute_uv=False), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["mingru", "minlstm"])
def test_min_cells_eigenvalues_are_exactly_their_carry_factors(name):
    model = lstmviz.build(name, 2, 6, seed=1, bidirectional=True)
    x = np.random.default_rng(7).normal(size=(12, 2))
    clamps = [lstmviz.Clamp("h", 0.5, (3, 5), units=(1, 4), direction=1)]
    tr = lstmviz.trace(model, x, dtype="float64", interventions=clamps)
    for d in (0, 1):
        eig, sv = lstmviz.spectrum(tr, 0, d)
        carry = order(tr.cell.carry(tr.runs[0][d]), d)  # (T, H) sequence order
        assert np.all(eig.imag == 0)
        np.testing.assert_array_equal(np.sort(eig.real, axis=1), np.sort(carry, axis=1))
        np.testing.assert_array_equal(sv, -np.sort(-np.abs(carry), axis=1))
    assert np.all(carry[[3, 4]][:, [1, 4]] == 0)  # a clamped unit carries nothing

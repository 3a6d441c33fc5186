"""Every registered cell against PyTorch: parity with torch.nn, hand BPTT against autograd through the
cell's reference step, closed-form Jacobians against jacrev, interventions, invariants.

The configurations are generated from the registry, so a new cell is tested by these tests as soon as
it is registered.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

import lstmviz
from lstmviz.cells import REGISTRY, cell_for
from lstmviz.jacobian import step_jacobians
from lstmviz.trace import order


def _options(name):
    kind = REGISTRY[name]
    for nonlinearity, variant, proj in itertools.product(
        kind.nonlinearities, kind.variants, (0, 3) if kind.projection else (0,)
    ):
        yield dict(cell=name, nonlinearity=nonlinearity, gru_variant=variant, proj_size=proj)


VARIANTS = [o for name in REGISTRY for o in _options(name)]
CONFIGS = [
    {**o, "num_layers": layers, "bidirectional": bi, "bias": bias}
    for o in VARIANTS
    for layers, bi, bias in itertools.product((1, 2), (False, True), (True, False))
]
TWINS = [c for c in CONFIGS if cell_for(lstmviz.ModelSpec(input_size=4, hidden_size=6, **c)).torch_twin]


def _id(cfg):
    return "-".join(f"{k}={v}" for k, v in cfg.items() if v not in (0, "tanh", "pytorch"))


def _model(cfg, seed=0, input_size=4, hidden=6, **extra):
    settings = {k: v for k, v in cfg.items() if k != "cell"}
    return (lstmviz.ModelSettings(hidden_size=hidden, seed=seed, **settings, **extra)
            .build(cfg["cell"], input_size))


def _torch_run(module, x, h0=None, c0=None):
    x = torch.as_tensor(x)
    if isinstance(module, torch.nn.LSTM):
        state = None if h0 is None else (torch.as_tensor(h0), torch.as_tensor(c0))
        out, (h_n, c_n) = module(x, state)
        return out, h_n, c_n
    out, h_n = module(x, None if h0 is None else torch.as_tensor(h0))
    return out, h_n, None


# ---------------------------------------------------------------------------------------------
# Parity with torch.nn


@pytest.mark.parametrize("cfg", TWINS, ids=_id)
def test_float32_parity_with_torch_modules(cfg):
    model = _model(cfg, seed=3)
    module = lstmviz.to_torch(model)
    x = np.random.default_rng(1).normal(size=(11, 4)).astype(np.float32)
    tr = lstmviz.trace(model, x, loss="last")
    xt = torch.tensor(x, requires_grad=True)
    out, h_n, c_n = _torch_run(module, xt)
    out[-1].sum().backward()
    np.testing.assert_allclose(tr.output, out.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.h_n, h_n.detach().numpy(), atol=1e-5)
    if c_n is not None:
        np.testing.assert_allclose(tr.c_n, c_n.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.grad_x, xt.grad.numpy(), atol=1e-5)
    assert tr.loss == pytest.approx(float(out[-1].sum().detach()), abs=1e-5)
    assert tr.output.dtype == np.float32


@pytest.mark.parametrize("loss", ["last", "all"])
@pytest.mark.parametrize("cfg", [c for c in TWINS if c["bias"] and c["num_layers"] == 2], ids=_id)
def test_float64_grad_x_and_initial_states_match_torch(cfg, loss):
    model = _model(cfg, seed=5)
    module = lstmviz.to_torch(model, torch.float64)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 4))
    count = model.spec.num_layers * model.spec.directions
    h0 = rng.normal(size=(count, model.spec.output_size))
    c0 = rng.normal(size=(count, model.spec.hidden_size)) if cell_for(model.spec).cell_state else None
    tr = lstmviz.trace(model, x, loss=loss, dtype="float64", h0=h0, c0=c0)
    xt = torch.tensor(x, requires_grad=True)
    out, h_n, _ = _torch_run(module, xt, h0, c0)
    (out[-1].sum() if loss == "last" else out.sum()).backward()
    np.testing.assert_allclose(tr.output, out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(tr.h_n, h_n.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(tr.grad_x, xt.grad.numpy(), atol=1e-10)


# ---------------------------------------------------------------------------------------------
# Hand BPTT against autograd through the reference steps (every cell, with interventions)


def _hook(clamps, layer, d, t):
    """A reference-step hook applying the clamps of one layer, direction and sequence position."""
    chosen = [c for c in clamps if (c.layer, c.direction) == (layer, d) and c.steps[0] <= t < c.steps[1]]

    def hook(name, value):
        for clamp in (c for c in chosen if c.name == name):
            mask = torch.zeros(value.shape[-1], dtype=torch.bool)
            mask[slice(None) if clamp.units is None else list(clamp.units)] = True
            value = torch.where(mask, torch.full_like(value, clamp.value), value)
        return value

    return hook


def reference(model, x, loss, clamps=()):
    """Autograd through the cell's reference step, step by step, keeping every state and bias leaf.

    Each step gets its own copy of bias_ih as a leaf, so its gradient is that step's dL/da.
    """
    spec, cell = model.spec, cell_for(model.spec)
    layer_input = torch.tensor(x, requires_grad=True)
    x_leaf, kept = layer_input, []
    for layer in range(spec.num_layers):
        outputs, kept_layer = [], []
        for d in range(spec.directions):
            p = {k: torch.from_numpy(v) for k, v in model.params(layer, d).items()}
            state = (torch.zeros(spec.output_size, dtype=torch.float64),)
            if cell.cell_state:
                state += (torch.zeros(spec.hidden_size, dtype=torch.float64),)
            steps = len(x)
            hs, cs, biases = [None] * steps, [None] * steps, [None] * steps
            for t in range(steps - 1, -1, -1) if d else range(steps):
                pt = dict(p)
                if "bias_ih" in p:
                    pt["bias_ih"] = biases[t] = p["bias_ih"].clone().requires_grad_(True)
                state = cell.reference_step(pt, layer_input[t], state, _hook(clamps, layer, d, t))
                for s in state:
                    s.retain_grad()
                hs[t] = state[0]
                cs[t] = state[1] if cell.cell_state else None
            outputs.append(torch.stack(hs))
            kept_layer.append((hs, cs, biases))
        kept.append(kept_layer)
        layer_input = torch.cat(outputs, dim=1)
    (layer_input[-1].sum() if loss == "last" else layer_input.sum()).backward()
    return layer_input.detach().numpy(), x_leaf.grad.numpy(), kept


def _compare_with_reference(model, x, loss, clamps=()):
    tr = lstmviz.trace(model, x, loss=loss, dtype="float64", interventions=clamps)
    output, grad_x, kept = reference(model, x, loss, clamps)
    np.testing.assert_allclose(tr.output, output, atol=1e-12)
    np.testing.assert_allclose(tr.grad_x, grad_x, atol=1e-8)
    cell = cell_for(model.spec)
    for layer, per_dir in enumerate(kept):
        for d, (hs, cs, biases) in enumerate(per_dir):
            lt = tr.layers[layer][d]
            np.testing.assert_allclose(lt.grad_h, torch.stack([h.grad for h in hs]).numpy(), atol=1e-8)
            if cell.cell_state:
                np.testing.assert_allclose(lt.grad_c, torch.stack([c.grad for c in cs]).numpy(), atol=1e-8)
            if biases[0] is not None:
                da = np.concatenate([lt.grad_preactivations[k] for k in cell.rows], axis=1)
                np.testing.assert_allclose(da, torch.stack([b.grad for b in biases]).numpy(), atol=1e-8)
    return tr


@pytest.mark.parametrize("loss", ["last", "all"])
@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c["bias"] or c["num_layers"] == 1], ids=_id)
def test_hand_bptt_equals_autograd_through_the_reference_step(cfg, loss):
    model = _model(cfg, seed=7)
    x = np.random.default_rng(4).normal(size=(9, 4))
    _compare_with_reference(model, x, loss)


def _clamps_for(cell, layer=0, direction=0):
    """A few clamps on what ``cell`` has: a gate on some units, and a state on all units."""
    gates = list(cell.gates)
    picks = [lstmviz.Clamp(gates[len(gates) // 2], 0.9, (2, 6), units=(0, 2), layer=layer,
                           direction=direction)] \
        if gates else []
    picks.append(lstmviz.Clamp("h", 0.25, (4, 5), layer=layer, direction=direction))
    if cell.cell_state:
        picks.append(lstmviz.Clamp("c", -0.5, (6, 8), units=(1,), layer=layer, direction=direction))
    return picks


@pytest.mark.parametrize("where", [(0, 0), (1, 1)], ids=["layer0", "layer1-reverse"])
@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_interventions_match_autograd_with_the_same_clamps(cfg, where):
    model = _model({**cfg, "num_layers": 2, "bidirectional": True, "bias": True}, seed=9)
    x = np.random.default_rng(5).normal(size=(9, 4))
    clamps = _clamps_for(cell_for(model.spec), *where)
    tr = _compare_with_reference(model, x, "last", clamps)
    for clamp in clamps:
        lt = tr.layers[clamp.layer][clamp.direction]
        values = lt.gates[clamp.name] if clamp.name in lt.gates else getattr(lt, clamp.name)
        units = slice(None) if clamp.units is None else list(clamp.units)
        np.testing.assert_array_equal(values[clamp.steps[0] : clamp.steps[1], units], clamp.value)


def test_clamping_f_to_one_and_i_to_zero_keeps_the_cell_state_and_its_gradient():
    model = lstmviz.build("lstm", 1, 4, seed=0)
    x = np.random.default_rng(0).normal(size=(25, 1))
    clamps = [lstmviz.Clamp("f", 1.0, (5, 20)), lstmviz.Clamp("i", 0.0, (5, 20))]
    lt = lstmviz.trace(model, x, dtype="float64", interventions=clamps).layers[0][0]
    np.testing.assert_array_equal(lt.c[5:20], np.broadcast_to(lt.c[4], (15, 4)))
    # delta_c passes through f = 1 unchanged, apart from what h_t adds at each step.
    flow = lt.grad_c[5:20] - lt.grad_h[5:20] * lt.gates["o"][5:20] * (1 - np.tanh(lt.c[5:20]) ** 2)
    np.testing.assert_allclose(flow[:-1], lt.grad_c[6:20], atol=1e-12)


@pytest.mark.parametrize(
    "clamp, match",
    [
        (lstmviz.Clamp("q", 1.0, (0, 2)), "has"),
        (lstmviz.Clamp("f", 1.0, (0, 99)), "steps"),
        (lstmviz.Clamp("f", 1.0, (0, 2), units=(7,)), "units"),
        (lstmviz.Clamp("f", 1.0, (0, 2), layer=3), "layer"),
    ],
)
def test_interventions_are_checked(clamp, match):
    with pytest.raises(ValueError, match=match):
        lstmviz.trace(lstmviz.build("lstm", 1, 4), np.zeros((5, 1)), interventions=[clamp])
    with pytest.raises(ValueError, match="steps"):
        lstmviz.Clamp("f", 1.0, (3, 3))
    with pytest.raises(ValueError, match="finite"):
        lstmviz.Clamp("f", float("nan"), (0, 1))


# ---------------------------------------------------------------------------------------------
# Jacobians


def _state_vector(cell, state):
    return torch.cat(state) if cell.cell_state else state[0]


@pytest.mark.parametrize("clamped", [False, True], ids=["free", "clamped"])
@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_closed_form_step_jacobians_equal_jacrev(cfg, clamped):
    model = _model({**cfg, "bias": True, "recurrent_scale": 1.5}, seed=3, input_size=2, hidden=5)
    cell = cell_for(model.spec)
    x = np.random.default_rng(8).normal(size=(9, 2))
    clamps = _clamps_for(cell) if clamped else []
    tr = lstmviz.trace(model, x, dtype="float64", interventions=clamps)
    lt = tr.layers[0][0]
    p = {k: torch.from_numpy(v) for k, v in model.params(0, 0).items()}
    states = np.concatenate([lt.h, lt.c], 1) if cell.cell_state else lt.h
    previous = np.concatenate([np.zeros((1, states.shape[1])), states[:-1]])
    split = model.spec.output_size
    ours = step_jacobians(tr, 0, 0, slice(0, 9))
    for t in range(9):
        def step(s, t=t):
            state = (s[:split], s[split:]) if cell.cell_state else (s,)
            out = cell.reference_step(p, torch.from_numpy(x[t]), state, _hook(clamps, 0, 0, t))
            return _state_vector(cell, out)

        expected = torch.func.jacrev(step)(torch.from_numpy(previous[t]))
        np.testing.assert_allclose(ours[t], expected.numpy(), atol=1e-12)


def _brute_force_to_last(model, x):
    """||ds_T/ds_t||_2 by differentiating the composed reference steps of a one-layer forward cell."""
    cell = cell_for(model.spec)
    p = {k: torch.from_numpy(v) for k, v in model.params(0, 0).items()}
    lt = lstmviz.trace(model, x, dtype="float64").layers[0][0]
    states = np.concatenate([lt.h, lt.c], 1) if cell.cell_state else lt.h
    split = model.spec.output_size

    def run_from(t, s):
        for k in range(t + 1, len(x)):
            state = (s[:split], s[split:]) if cell.cell_state else (s,)
            s = _state_vector(cell, cell.reference_step(p, torch.from_numpy(x[k]), state))
        return s

    norms = []
    for t in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda s, t=t: run_from(t, s), torch.from_numpy(states[t]))
        norms.append(float(torch.linalg.matrix_norm(jac, ord=2)))
    return np.array(norms)


@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_jacobian_norms_match_brute_force(cfg):
    model = _model({**cfg, "recurrent_scale": 1.5}, seed=3, input_size=2, hidden=4)
    x = np.random.default_rng(8).normal(size=(7, 2))
    norms = lstmviz.jacobian_norms(model, x)[0][0]
    np.testing.assert_allclose(norms.to_last, _brute_force_to_last(model, x), rtol=1e-9, atol=1e-14)
    assert norms.to_last[-1] == pytest.approx(1.0)
    cell = cell_for(model.spec)
    assert (norms.carry_path is not None) == (cell.carry(lstmviz.trace(model, x).runs[0][0]) is not None)
    assert (norms.pascanu_bound is not None) == (cell.pascanu_gamma is not None)


def test_jacobian_step_norms_pascanu_bound_and_carry_path():
    model = lstmviz.build("rnn", 1, 5, seed=0, recurrent_scale=0.5)
    x = np.sin(np.arange(9.0))[:, None]
    norms = lstmviz.jacobian_norms(model, x)[0][0]
    lt = lstmviz.trace(model, x, dtype="float64").layers[0][0]
    w_hh = model.weights["weight_hh_l0"]
    expected = [np.linalg.norm(np.diag(1 - lt.h[t] ** 2) @ w_hh, 2) for t in range(9)]
    np.testing.assert_allclose(norms.step, expected, rtol=1e-10)
    sigma = np.linalg.norm(w_hh, 2)
    np.testing.assert_allclose(norms.pascanu_bound, sigma ** np.arange(8, -1, -1.0))
    assert np.all(norms.to_last <= norms.pascanu_bound * (1 + 1e-9))  # Pascanu et al. (2013)

    lstm = lstmviz.build("lstm", 1, 3, seed=0, forget_bias=1.0)
    f = lstmviz.trace(lstm, x, dtype="float64").layers[0][0].gates["f"]
    path = lstmviz.jacobian_norms(lstm, x)[0][0].carry_path
    np.testing.assert_allclose(path[2], f[3:].prod(axis=0), rtol=1e-10)
    np.testing.assert_allclose(path[-1], 1.0)


def test_jacobian_window_reuse_and_reverse_direction():
    model = lstmviz.build("gru", 2, 3, bidirectional=True, num_layers=2, seed=1)
    x = np.random.default_rng(1).normal(size=(8, 2))
    tr = lstmviz.trace(model, x, dtype="float64")
    full = lstmviz.jacobian_norms(tr)
    windowed = lstmviz.jacobian_norms(model, x, max_steps=3)
    forward, backward = windowed[1][0], windowed[1][1]
    assert np.isnan(forward.to_last[:5]).all() and np.isfinite(forward.to_last[5:]).all()
    assert list(forward.computed) == [False] * 5 + [True] * 3
    np.testing.assert_allclose(forward.to_last[5:], full[1][0].to_last[5:])
    assert backward.to_last[0] == pytest.approx(1.0)  # the reverse direction ends at position 0
    assert np.isnan(backward.to_last[3:]).all()
    with pytest.raises(ValueError, match="max_steps"):
        lstmviz.jacobian_norms(model, x, max_steps=0)


def test_jacobian_budget_is_checked_before_any_work():
    model = lstmviz.build("lstm", 1, 512, seed=0)
    with pytest.raises(ValueError, match="max_steps="):
        lstmviz.jacobian_norms(model, np.ones((2000, 1)))


@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_spectrum_is_that_of_the_step_jacobians(cfg):
    model = _model(cfg, seed=2, input_size=2, hidden=4)
    tr = lstmviz.trace(model, np.random.default_rng(3).normal(size=(6, 2)), dtype="float64")
    eig, sv = lstmviz.spectrum(tr, times=[1, 4])
    jac = step_jacobians(tr, 0, 0, np.array([1, 4]))
    np.testing.assert_allclose(np.sort(np.abs(eig), axis=1), np.sort(np.abs(np.linalg.eigvals(jac)), axis=1))
    np.testing.assert_allclose(sv[:, 0], np.linalg.norm(jac, ord=2, axis=(1, 2)))


# ---------------------------------------------------------------------------------------------
# Invariants


@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_gate_ranges_and_state_updates(cfg):
    model = _model({**cfg, "num_layers": 2, "bidirectional": True}, seed=2, input_size=3, hidden=7)
    cell = cell_for(model.spec)
    x = np.random.default_rng(5).normal(size=(10, 3)) * 3
    tr = lstmviz.trace(model, x, dtype="float64")
    for layer, d in itertools.product(range(2), range(2)):
        lt = tr.layers[layer][d]
        assert set(lt.gates) == set(cell.gates)
        assert set(lt.preactivations) == set(lt.grad_preactivations) == set(cell.rows)
        for letter, values in lt.gates.items():
            low, high = (0, 1) if letter in cell.sigmoid_gates else (-1, 1)
            if letter not in cell.linear_gates:
                assert low <= values.min() and values.max() <= high, letter
        prev_h = order(np.vstack([lt.h0[None], order(lt.h, d)[:-1]]), d)
        g = lt.gates
        if cell.name == "lstm":
            prev_c = order(np.vstack([lt.c0[None], order(lt.c, d)[:-1]]), d)
            np.testing.assert_allclose(lt.c, g["f"] * prev_c + g["i"] * g["g"], atol=1e-12)
            m = g["o"] * np.tanh(lt.c)
            proj = model.params(layer, d).get("weight_hr")
            np.testing.assert_allclose(lt.h, m if proj is None else m @ proj.T, atol=1e-12)
        elif cell.name == "gru":
            old, new = (g["z"], 1 - g["z"]) if not cell.tutorial else (1 - g["z"], g["z"])
            np.testing.assert_allclose(lt.h, old * prev_h + new * g["n"], atol=1e-12)
        elif cell.name == "mingru":
            np.testing.assert_allclose(lt.h, (1 - g["z"]) * prev_h + g["z"] * g["n"], atol=1e-12)
            np.testing.assert_allclose(g["n"], lt.preactivations["n"])
        elif cell.name == "minlstm":
            np.testing.assert_allclose(g["f'"] + g["i'"], 1.0, atol=1e-12)
            np.testing.assert_allclose(g["f'"], g["f"] / (g["f"] + g["i"]), atol=1e-12)
            np.testing.assert_allclose(lt.h, g["f'"] * prev_h + g["i'"] * g["n"], atol=1e-12)
        elif cell.name == "rnn":
            act = np.maximum if cell.relu else (lambda a, _: np.tanh(a))
            np.testing.assert_allclose(lt.h, act(lt.preactivations["h"], 0), atol=1e-12)
    np.testing.assert_allclose(tr.output[:, : model.spec.output_size], tr.layers[1][0].h)


@pytest.mark.parametrize("name", ["mingru", "minlstm"])
def test_min_cells_have_no_recurrent_weights_and_no_torch_twin(name):
    model = lstmviz.build(name, 2, 4, num_layers=2, bidirectional=True)
    assert not any("hh" in key for key in model.weights)
    assert set(model.weights) == {f"{w}_l{k}{s}" for w in ("weight_ih", "bias_ih") for k in (0, 1)
                                  for s in ("", "_reverse")}
    assert model.weights["weight_ih_l0"].shape == (len(REGISTRY[name].rows) * 4, 2)
    assert model.weights["weight_ih_l1"].shape[1] == 8
    with pytest.raises(ValueError, match="no torch.nn equivalent"):
        lstmviz.to_torch(model)


def test_gradients_are_not_trivially_zero_or_equal():
    model = lstmviz.build("lstm", 1, 8, seed=0)
    tr = lstmviz.trace(model, np.linspace(-1, 1, 12)[:, None], loss="last")
    norms = np.linalg.norm(tr.layers[0][0].grad_h, axis=1)
    assert np.all(norms > 0) and len(np.unique(norms)) == len(norms)


def test_tutorial_gru_differs_from_pytorch_gru_and_refuses_export():
    torch_gru = lstmviz.build("gru", 2, 5, seed=0)
    tutorial = lstmviz.build("gru", 2, 5, seed=0, gru_variant="tutorial")
    x = np.random.default_rng(0).normal(size=(5, 2))
    assert not np.allclose(lstmviz.trace(torch_gru, x).output, lstmviz.trace(tutorial, x).output)
    with pytest.raises(ValueError, match="tutorial"):
        lstmviz.to_torch(tutorial)


def test_exploding_relu_rnn_gives_values_not_errors():
    model = lstmviz.build("rnn", 1, 16, seed=0, nonlinearity="relu", recurrent_scale=3.0)
    x = lstmviz.preset("noise", length=600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = lstmviz.trace(model, x)
        norms = lstmviz.jacobian_norms(model, x)[0][0]
    assert not np.isfinite(tr.output).all()  # float32 overflows: the app explains it in words
    assert norms.to_last[0] > 1e100 and norms.to_last[-1] == 1.0


@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_memory_estimate_covers_what_a_trace_keeps(cfg):
    from lstmviz.trace import trace_bytes

    model = _model({**cfg, "num_layers": 2, "bidirectional": True}, hidden=32)
    tr = lstmviz.trace(model, np.zeros((200, 4)), dtype="float64")
    arrays = [tr.x, tr.output, tr.grad_x]
    for lt in (lt for layer in tr.layers for lt in layer):
        arrays += [a for a in (lt.h, lt.c, lt.grad_h, lt.grad_c, lt.grad_h_direct) if a is not None]
        arrays += [*lt.gates.values(), *lt.preactivations.values(), *lt.grad_preactivations.values()]
    arrays += [a for layer in tr.runs for run in layer for a in run.cache.values()
               if isinstance(a, np.ndarray)]
    kept = sum(a.nbytes for a in arrays)
    assert kept <= trace_bytes(model.spec, 200) <= 1.3 * kept

"""The engine against PyTorch: forward parity with torch.nn, hand BPTT against autograd, invariants."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

import lstmviz
from lstmviz import cells

CONFIGS = [
    dict(cell=cell, num_layers=layers, bidirectional=bi, bias=bias, proj_size=proj, nonlinearity=nl)
    for cell, layers, bi, bias in itertools.product(
        ("rnn", "lstm", "gru"), (1, 2, 3), (False, True), (True, False)
    )
    for proj in ((0, 3) if cell == "lstm" else (0,))
    for nl in (("tanh", "relu") if cell == "rnn" else ("tanh",))
]


def _config_id(cfg):
    return "-".join(f"{k}={v}" for k, v in cfg.items())


def _model(cfg, seed=0, input_size=4, hidden=6, **extra):
    return lstmviz.build(input_size=input_size, hidden_size=hidden, seed=seed, **cfg, **extra)


def _torch_states(module, x, h0=None, c0=None):
    x = torch.as_tensor(x)
    if isinstance(module, torch.nn.LSTM):
        state = None if h0 is None else (torch.as_tensor(h0), torch.as_tensor(c0))
        out, (h_n, c_n) = module(x, state)
        return out, h_n, c_n
    out, h_n = module(x, None if h0 is None else torch.as_tensor(h0))
    return out, h_n, None


@pytest.mark.parametrize("cfg", CONFIGS, ids=_config_id)
def test_float32_parity_with_torch_modules(cfg):
    model = _model(cfg, seed=3)
    module = lstmviz.to_torch(model)
    x = np.random.default_rng(1).normal(size=(11, 4)).astype(np.float32)
    tr = lstmviz.trace(model, x, loss="last")
    xt = torch.tensor(x, requires_grad=True)
    out, h_n, c_n = _torch_states(module, xt)
    out[-1].sum().backward()
    np.testing.assert_allclose(tr.output, out.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.h_n, h_n.detach().numpy(), atol=1e-5)
    if c_n is not None:
        np.testing.assert_allclose(tr.c_n, c_n.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(tr.grad_x, xt.grad.numpy(), atol=1e-5)
    assert tr.loss == pytest.approx(float(out[-1].sum().detach()), abs=1e-5)
    assert tr.output.dtype == np.float32


@pytest.mark.parametrize("loss", ["last", "all"])
@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c["bias"]], ids=_config_id)
def test_float64_grad_x_matches_autograd_through_torch(cfg, loss):
    model = _model(cfg, seed=5)
    module = lstmviz.to_torch(model, torch.float64)
    x = np.random.default_rng(2).normal(size=(8, 4))
    tr = lstmviz.trace(model, x, loss=loss, dtype="float64")
    xt = torch.tensor(x, requires_grad=True)
    out, _, _ = _torch_states(module, xt)
    (out[-1].sum() if loss == "last" else out.sum()).backward()
    np.testing.assert_allclose(tr.grad_x, xt.grad.numpy(), atol=1e-10)


def _reference_stack(model, x, loss):
    """Autograd through lstmviz.cells, step by step, keeping every state for its total gradient."""
    spec = model.spec
    layer_input = torch.tensor(x, requires_grad=True)
    x_leaf = layer_input
    kept = []
    for layer in range(spec.num_layers):
        outputs, kept_layer = [], []
        for d in range(spec.directions):
            p = {k: torch.from_numpy(v) for k, v in model.params(layer, d).items()}
            h = torch.zeros(spec.output_size, dtype=torch.float64)
            c = torch.zeros(spec.hidden_size, dtype=torch.float64)
            hs, cs = [None] * len(x), [None] * len(x)
            order = range(len(x) - 1, -1, -1) if d else range(len(x))
            for t in order:
                if spec.cell == "lstm":
                    h, c = cells.lstm_step(p, layer_input[t], h, c)
                    c.retain_grad()
                    cs[t] = c
                elif spec.cell == "rnn":
                    h = cells.rnn_step(p, layer_input[t], h, relu=spec.nonlinearity == "relu")
                elif spec.gru_variant == "tutorial":
                    h = cells.gru_tutorial_step(p, layer_input[t], h)
                else:
                    h = cells.gru_step(p, layer_input[t], h)
                h.retain_grad()
                hs[t] = h
            outputs.append(torch.stack(hs))
            kept_layer.append((hs, cs))
        kept.append(kept_layer)
        layer_input = torch.cat(outputs, dim=1)
    (layer_input[-1].sum() if loss == "last" else layer_input.sum()).backward()
    return layer_input.detach().numpy(), x_leaf.grad.numpy(), kept


GRAD_CONFIGS = [c for c in CONFIGS if c["bias"] and c["num_layers"] <= 2] + [
    dict(
        cell="gru",
        num_layers=2,
        bidirectional=True,
        bias=True,
        proj_size=0,
        nonlinearity="tanh",
        gru_variant="tutorial",
    ),
    dict(
        cell="gru",
        num_layers=1,
        bidirectional=False,
        bias=False,
        proj_size=0,
        nonlinearity="tanh",
        gru_variant="tutorial",
    ),
]


@pytest.mark.parametrize("loss", ["last", "all"])
@pytest.mark.parametrize("cfg", GRAD_CONFIGS, ids=_config_id)
def test_hand_bptt_equals_autograd_through_our_cells(cfg, loss):
    model = _model(cfg, seed=7)
    x = np.random.default_rng(4).normal(size=(9, 4))
    tr = lstmviz.trace(model, x, loss=loss, dtype="float64")
    output, grad_x, kept = _reference_stack(model, x, loss)
    np.testing.assert_allclose(tr.output, output, atol=1e-12)
    np.testing.assert_allclose(tr.grad_x, grad_x, atol=1e-8)
    for layer, per_dir in enumerate(kept):
        for d, (hs, cs) in enumerate(per_dir):
            lt = tr.layers[layer][d]
            np.testing.assert_allclose(lt.grad_h, torch.stack([h.grad for h in hs]).numpy(), atol=1e-8)
            if model.spec.cell == "lstm":
                np.testing.assert_allclose(lt.grad_c, torch.stack([c.grad for c in cs]).numpy(), atol=1e-8)


def test_gradients_are_not_trivially_zero_or_equal():
    model = lstmviz.build("lstm", 1, 8, seed=0)
    tr = lstmviz.trace(model, np.linspace(-1, 1, 12)[:, None], loss="last")
    norms = np.linalg.norm(tr.layers[0][0].grad_h, axis=1)
    assert np.all(norms > 0) and len(np.unique(norms)) == len(norms)


@pytest.mark.parametrize("cfg", [c for c in CONFIGS if c["num_layers"] == 2], ids=_config_id)
def test_initial_states_match_torch(cfg):
    model = _model(cfg, seed=11)
    module = lstmviz.to_torch(model, torch.float64)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 4))
    count = model.spec.num_layers * model.spec.directions
    h0 = rng.normal(size=(count, model.spec.output_size))
    c0 = rng.normal(size=(count, model.spec.hidden_size)) if cfg["cell"] == "lstm" else None
    tr = lstmviz.trace(model, x, h0=h0, c0=c0, dtype="float64")
    out, h_n, _ = _torch_states(module, x, h0, c0)
    np.testing.assert_allclose(tr.output, out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(tr.h_n, h_n.detach().numpy(), atol=1e-12)


def test_tutorial_gru_differs_from_pytorch_gru_and_refuses_export():
    torch_gru = lstmviz.build("gru", 2, 5, seed=0)
    tutorial = lstmviz.build("gru", 2, 5, seed=0, gru_variant="tutorial")
    x = np.random.default_rng(0).normal(size=(5, 2))
    assert not np.allclose(lstmviz.trace(torch_gru, x).output, lstmviz.trace(tutorial, x).output)
    with pytest.raises(ValueError, match="tutorial GRU"):
        lstmviz.to_torch(tutorial)


@pytest.mark.parametrize("proj", [0, 3])
def test_lstm_invariants_and_shapes(proj):
    model = lstmviz.build("lstm", 3, 7, proj_size=proj, num_layers=2, bidirectional=True, seed=2)
    x = np.random.default_rng(5).normal(size=(10, 3)) * 3
    tr = lstmviz.trace(model, x, dtype="float64")
    h_out = proj or 7
    assert tr.x.shape == (10, 3) and tr.grad_x.shape == (10, 3)
    assert tr.output.shape == (10, 2 * h_out)
    for layer in range(2):
        for d in range(2):
            lt = tr.layers[layer][d]
            assert set(lt.gates) == set("ifgo") == set(lt.preactivations)
            assert lt.h.shape == lt.grad_h.shape == (10, h_out)
            assert lt.c.shape == lt.grad_c.shape == (10, 7)
            i, f, g, o = (lt.gates[k] for k in "ifgo")
            for gate in (i, f, o):
                assert gate.min() >= 0 and gate.max() <= 1
            assert g.min() >= -1 and g.max() <= 1
            np.testing.assert_allclose(f, 1 / (1 + np.exp(-lt.preactivations["f"])), atol=1e-12)
            c_prev = np.zeros_like(lt.c)
            if d == 0:
                c_prev[1:] = lt.c[:-1]
            else:
                c_prev[:-1] = lt.c[1:]
            np.testing.assert_allclose(lt.c, f * c_prev + i * g, atol=1e-12)
            m = o * np.tanh(lt.c)
            expected_h = m @ model.params(layer, d)["weight_hr"].T if proj else m
            np.testing.assert_allclose(lt.h, expected_h, atol=1e-12)
    np.testing.assert_allclose(tr.output[:, :h_out], tr.layers[1][0].h)
    np.testing.assert_allclose(tr.output[:, h_out:], tr.layers[1][1].h)


def test_gru_and_rnn_invariants():
    x = np.random.default_rng(6).normal(size=(8, 2))
    gru = lstmviz.trace(lstmviz.build("gru", 2, 4, seed=1), x, dtype="float64").layers[0][0]
    r, z, n = (gru.gates[k] for k in "rzn")
    h_prev = np.vstack([np.zeros(4), gru.h[:-1]])
    np.testing.assert_allclose(gru.h, (1 - z) * n + z * h_prev, atol=1e-12)
    assert gru.c is None and gru.grad_c is None
    assert r.min() >= 0 and r.max() <= 1 and np.abs(n).max() <= 1
    tutorial = lstmviz.trace(lstmviz.build("gru", 2, 4, seed=1, gru_variant="tutorial"), x).layers[0][0]
    h_prev = np.vstack([np.zeros(4), tutorial.h[:-1]])
    z, n = tutorial.gates["z"], tutorial.gates["n"]
    np.testing.assert_allclose(tutorial.h, (1 - z) * h_prev + z * n, atol=1e-6)
    rnn = lstmviz.trace(lstmviz.build("rnn", 2, 4, seed=1, nonlinearity="relu"), x).layers[0][0]
    assert rnn.gates == {} and set(rnn.preactivations) == {"h"}
    np.testing.assert_allclose(rnn.h, np.maximum(rnn.preactivations["h"], 0))


def test_build_is_seeded_and_schemes_do_what_they_say():
    a = lstmviz.build("lstm", 3, 8, seed=4)
    b = lstmviz.build("lstm", 3, 8, seed=4)
    c = lstmviz.build("lstm", 3, 8, seed=5)
    assert all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights)
    assert not np.array_equal(a.weights["weight_hh_l0"], c.weights["weight_hh_l0"])
    bound = 1 / np.sqrt(8)
    assert all(np.abs(w).max() <= bound for w in a.weights.values())

    orth = lstmviz.build("gru", 3, 8, init="orthogonal", seed=0)
    for block in np.split(orth.weights["weight_hh_l0"], 3):
        np.testing.assert_allclose(block @ block.T, np.eye(8), atol=1e-12)
    assert not orth.weights["bias_ih_l0"].any()

    irnn = lstmviz.build("rnn", 3, 8, init="identity", recurrent_scale=0.5)
    np.testing.assert_allclose(irnn.weights["weight_hh_l0"], 0.5 * np.eye(8))

    base = lstmviz.build("lstm", 3, 8, seed=1)
    biased = lstmviz.build("lstm", 3, 8, seed=1, forget_bias=2.0)
    delta = biased.weights["bias_ih_l0"] - base.weights["bias_ih_l0"]
    np.testing.assert_allclose(delta, np.r_[np.zeros(8), 2 * np.ones(8), np.zeros(16)])
    scaled = lstmviz.build("lstm", 3, 8, seed=1, recurrent_scale=3.0)
    np.testing.assert_allclose(scaled.weights["weight_hh_l0"], 3 * base.weights["weight_hh_l0"])

    xavier = lstmviz.build("lstm", 3, 8, init="xavier", seed=0)
    assert np.abs(xavier.weights["weight_ih_l0"]).max() <= np.sqrt(6 / 11)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(cell="cnn"), "cell must be"),
        (dict(hidden_size=0), "hidden_size"),
        (dict(proj_size=9), "proj_size"),
        (dict(init="he"), "init must be"),
        (dict(cell="gru", forget_bias=1.0), "forget_bias"),
        (dict(num_layers=0), "num_layers"),
        (dict(recurrent_scale=float("nan")), "finite"),
    ],
)
def test_build_rejects_bad_arguments_clearly(kwargs, match):
    args = dict(cell="lstm", input_size=2, hidden_size=8) | kwargs
    cell = args.pop("cell")
    with pytest.raises(ValueError, match=match):
        lstmviz.build(cell, **args)


@pytest.mark.parametrize(
    "x, kwargs, match",
    [
        (np.zeros((4, 3)), {}, "shape"),
        (np.zeros((0, 2)), {}, "steps"),
        (np.array([[1.0, np.nan]]), {}, "NaN"),
        (np.zeros((3, 2)), dict(loss="mean"), "loss"),
        (np.zeros((3, 2)), dict(h0=np.zeros((2, 4))), "h0"),
        (np.zeros((3, 2)), dict(dtype="float16"), "dtype"),
    ],
)
def test_trace_rejects_bad_input_clearly(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        lstmviz.trace(lstmviz.build("lstm", 2, 4), x, **kwargs)


@pytest.mark.parametrize("cfg", CONFIGS[::3], ids=_config_id)
def test_torch_round_trip_keeps_weights(cfg):
    torch.manual_seed(0)
    kind = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cfg["cell"]]
    options = dict(
        input_size=4,
        hidden_size=6,
        num_layers=cfg["num_layers"],
        bias=cfg["bias"],
        bidirectional=cfg["bidirectional"],
        dropout=0.0,
        batch_first=True,
    )
    if cfg["cell"] == "lstm":
        options["proj_size"] = cfg["proj_size"]
    if cfg["cell"] == "rnn":
        options["nonlinearity"] = cfg["nonlinearity"]
    module = kind(**options)
    model = lstmviz.from_torch(module)
    back = lstmviz.to_torch(model)
    for name, value in module.state_dict().items():
        assert torch.equal(back.state_dict()[name], value), name
    assert model.spec.nonlinearity == cfg["nonlinearity"]


@pytest.mark.parametrize("kind", [torch.nn.RNNCell, torch.nn.LSTMCell, torch.nn.GRUCell])
def test_single_step_cells_convert(kind):
    torch.manual_seed(0)
    cell = kind(3, 5)
    model = lstmviz.from_torch(cell)
    x = torch.randn(1, 3)
    expected = cell(x)
    expected = expected[0] if isinstance(expected, tuple) else expected
    tr = lstmviz.trace(model, x.numpy())
    np.testing.assert_allclose(tr.output[-1], expected[0].detach().numpy(), atol=1e-6)


def test_from_torch_rejects_other_modules():
    with pytest.raises(TypeError, match="nn.LSTM"):
        lstmviz.from_torch(torch.nn.Linear(2, 2))


def _brute_force_to_last(model, x):
    """||ds_T/ds_t||_2 by differentiating the composed steps of a one-layer forward cell."""
    spec = model.spec
    p = {k: torch.from_numpy(v) for k, v in model.params(0, 0).items()}
    xs = torch.from_numpy(x)
    tr = lstmviz.trace(model, x, dtype="float64").layers[0][0]
    states = tr.h if spec.cell != "lstm" else np.concatenate([tr.h, tr.c], axis=1)

    def run_from(t, s):
        for k in range(t + 1, len(x)):
            if spec.cell == "lstm":
                h, c = cells.lstm_step(p, xs[k], s[: spec.output_size], s[spec.output_size :])
                s = torch.cat([h, c])
            elif spec.cell == "rnn":
                s = cells.rnn_step(p, xs[k], s, relu=spec.nonlinearity == "relu")
            else:
                step = cells.gru_tutorial_step if spec.gru_variant == "tutorial" else cells.gru_step
                s = step(p, xs[k], s)
        return s

    norms = []
    for t in range(len(x)):
        jac = torch.autograd.functional.jacobian(lambda s, t=t: run_from(t, s), torch.from_numpy(states[t]))
        norms.append(float(torch.linalg.matrix_norm(jac, ord=2)))
    return np.array(norms)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(cell="rnn"),
        dict(cell="rnn", nonlinearity="relu"),
        dict(cell="lstm"),
        dict(cell="lstm", proj_size=2),
        dict(cell="gru"),
        dict(cell="gru", gru_variant="tutorial"),
    ],
)
def test_jacobian_norms_match_brute_force(kwargs):
    model = lstmviz.build(input_size=2, hidden_size=4, seed=3, recurrent_scale=1.5, **kwargs)
    x = np.random.default_rng(8).normal(size=(7, 2))
    norms = lstmviz.jacobian_norms(model, x)[0][0]
    np.testing.assert_allclose(norms.to_last, _brute_force_to_last(model, x), rtol=1e-9, atol=1e-14)
    assert norms.to_last[-1] == pytest.approx(1.0)
    assert (norms.forget_path is not None) == (kwargs["cell"] == "lstm")
    assert (norms.pascanu_bound is not None) == (kwargs["cell"] == "rnn")


def test_jacobian_step_norms_and_references():
    model = lstmviz.build("rnn", 1, 5, seed=0, recurrent_scale=0.5)
    x = np.sin(np.arange(9.0))[:, None]
    norms = lstmviz.jacobian_norms(model, x)[0][0]
    tr = lstmviz.trace(model, x, dtype="float64").layers[0][0]
    w_hh = model.weights["weight_hh_l0"]
    expected = [np.linalg.norm(np.diag(1 - tr.h[t] ** 2) @ w_hh, 2) for t in range(9)]
    np.testing.assert_allclose(norms.step, expected, rtol=1e-10)
    sigma = np.linalg.norm(w_hh, 2)
    np.testing.assert_allclose(norms.pascanu_bound, sigma ** np.arange(8, -1, -1.0))
    # Pascanu et al.: the bound holds for the tanh RNN.
    assert np.all(norms.to_last <= norms.pascanu_bound * (1 + 1e-9))

    lstm = lstmviz.build("lstm", 1, 3, seed=0, forget_bias=1.0)
    f = lstmviz.trace(lstm, x, dtype="float64").layers[0][0].gates["f"]
    path = lstmviz.jacobian_norms(lstm, x)[0][0].forget_path
    np.testing.assert_allclose(path[2], f[3:].prod(axis=0), rtol=1e-10)
    np.testing.assert_allclose(path[-1], 1.0)


def test_jacobian_window_and_reverse_direction():
    model = lstmviz.build("gru", 2, 3, bidirectional=True, num_layers=2, seed=1)
    x = np.random.default_rng(1).normal(size=(8, 2))
    full = lstmviz.jacobian_norms(model, x)
    windowed = lstmviz.jacobian_norms(model, x, max_steps=3)
    forward, backward = windowed[1][0], windowed[1][1]
    assert np.isnan(forward.to_last[:5]).all() and np.isfinite(forward.to_last[5:]).all()
    np.testing.assert_allclose(forward.to_last[5:], full[1][0].to_last[5:])
    # The reverse direction's last step is sequence position 0.
    assert backward.to_last[0] == pytest.approx(1.0)
    assert np.isnan(backward.to_last[3:]).all()
    with pytest.raises(ValueError, match="max_steps"):
        lstmviz.jacobian_norms(model, x, max_steps=0)


def test_trace_takes_torch_tensors_and_batch_one_states():
    torch.manual_seed(0)
    module = torch.nn.LSTM(2, 3, num_layers=2)
    x = torch.randn(5, 2, requires_grad=True)
    h0, c0 = torch.randn(2, 1, 3), torch.randn(2, 1, 3)
    expected, _ = module(x[:, None], (h0, c0))
    tr = lstmviz.trace(lstmviz.from_torch(module), x, h0=h0, c0=c0)
    np.testing.assert_allclose(tr.output, expected[:, 0].detach().numpy(), atol=1e-6)


def test_exploding_relu_rnn_gives_values_not_errors():
    model = lstmviz.build("rnn", 1, 16, seed=0, nonlinearity="relu", recurrent_scale=20.0)
    x = lstmviz.preset("noise", length=300)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = lstmviz.trace(model, x)
        norms = lstmviz.jacobian_norms(model, x)[0][0]
    assert not np.isfinite(tr.output).all()  # float32 overflows: the app explains it in words
    assert norms.to_last[0] > 1e100 and norms.to_last[-1] == 1.0

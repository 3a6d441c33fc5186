"""Sweeps: the batched engine gives the horizons, gradient norms and gains of single traces, for every
cell; the axes a cell does not have repeat; the Pascanu boundary and bound; median, spread, refusals."""

from __future__ import annotations

import importlib
import itertools
import warnings
from dataclasses import replace

import numpy as np
import pytest
from test_cells import VARIANTS, _id

import lstmviz
from lstmviz.cells import cell_for
from lstmviz.jacobian import step_jacobians
from lstmviz.summaries import gradient_horizon, gradient_norms
from lstmviz.sweeps import Sweep, grid_gradients, sweep

SCALES, BIASES, SEEDS = (0.3, 1.0, 2.5), (-1.0, 0.0, 3.0), (0, 5)


def _settings(cfg, **extra):
    options = {k: v for k, v in cfg.items() if k != "cell"}
    return lstmviz.ModelSettings(hidden_size=6, **options, **extra)


def _gain(tr):
    """||d h_T / d h_0||_2 from the product of the trace's closed-form step Jacobians."""
    product = np.eye(tr.cell.state_size())
    for jac in step_jacobians(tr, 0, 0, slice(1, tr.steps)):
        product = jac @ product
    width = tr.spec.output_size
    return np.linalg.norm(product[:width, :width], 2)


@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_sweep_equals_single_traces_at_every_grid_point(cfg):
    x = np.random.default_rng(0).normal(size=(40, 2))
    settings = _settings(cfg)
    result = sweep(cfg["cell"], x, scales=SCALES, forget_biases=BIASES, seeds=SEEDS, settings=settings)
    assert result.horizon.shape == result.gain.shape == (3, 3, 2)
    for (i, scale), (j, bias), (k, seed) in itertools.product(*map(enumerate, (SCALES, BIASES, SEEDS))):
        model = replace(settings, recurrent_scale=scale, forget_bias=bias, seed=seed).build(cfg["cell"], 2)
        tr = lstmviz.trace(model, x, dtype="float64")
        steps = gradient_horizon(tr).steps
        assert result.horizon[i, j, k] == (np.inf if steps is None else steps), (scale, bias, seed)
        assert result.gain[i, j, k] == pytest.approx(_gain(tr), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_sweep_equals_single_traces_at_the_benchmark_size(cell):
    x = np.random.default_rng(9).normal(size=(100, 1))
    settings = lstmviz.ModelSettings(hidden_size=32)
    scales, biases, seeds = (0.25, 1.0, 2.0, 3.0), (-2.0, 5.0), (0, 7)
    result = sweep(cell, x, scales=scales, forget_biases=biases, seeds=seeds, settings=settings)
    for (i, scale), (j, bias), (k, seed) in itertools.product(*map(enumerate, (scales, biases, seeds))):
        model = replace(settings, recurrent_scale=scale, forget_bias=bias, seed=seed).build(cell, 1)
        tr = lstmviz.trace(model, x, dtype="float64")
        steps = gradient_horizon(tr).steps
        assert result.horizon[i, j, k] == (np.inf if steps is None else steps), (scale, bias, seed)
        assert result.gain[i, j, k] == pytest.approx(_gain(tr), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("cfg", VARIANTS, ids=_id)
def test_batched_gradient_norms_equal_the_traces(cfg):
    x = np.random.default_rng(1).normal(size=(30, 2))
    settings = _settings(cfg, seed=3)
    spec = settings.spec(cfg["cell"], 2)
    params = replace(settings, recurrent_scale=1.0).build(cfg["cell"], 2).params(0, 0)
    scales = np.array([0.5, 1.0, 1.7])
    norms, _ = grid_gradients(spec, params, x, scales)
    for g, scale in enumerate(scales):
        tr = lstmviz.trace(replace(settings, recurrent_scale=scale).build(cfg["cell"], 2), x, dtype="float64")
        np.testing.assert_allclose(norms[:, g], gradient_norms(tr), rtol=1e-10, atol=1e-300)


def test_axes_a_cell_does_not_have_repeat_and_are_flagged():
    x = np.random.default_rng(2).normal(size=(20, 1))
    flags = {}
    for cell in lstmviz.CELL_NAMES:
        result = sweep(cell, x, scales=(0.5, 2.0), forget_biases=(0.0, 2.0), seeds=(0, 1))
        flags[cell] = (result.scale_applies, result.forget_bias_applies)
        if not result.scale_applies:
            np.testing.assert_array_equal(result.horizon[0], result.horizon[1])
        if not result.forget_bias_applies:
            np.testing.assert_array_equal(result.gain[:, 0], result.gain[:, 1])
        else:
            assert not np.array_equal(result.gain[:, 0], result.gain[:, 1])
    assert flags == {"rnn": (True, False), "lstm": (True, True), "gru": (True, False),
                     "mingru": (False, False), "minlstm": (False, True)}


def test_pascanu_boundary_and_bound_for_the_rnn():
    x = np.random.default_rng(3).normal(size=(25, 1))
    scales = np.linspace(0.2, 2.0, 7)
    result = sweep("rnn", x, scales=scales, seeds=(0, 1, 2), settings=lstmviz.ModelSettings(hidden_size=8))
    for k, seed in enumerate((0, 1, 2)):
        at_boundary = lstmviz.build("rnn", 1, 8, seed=seed, recurrent_scale=float(result.pascanu_scale[k]))
        assert np.linalg.norm(at_boundary.weights["weight_hh_l0"], 2) == pytest.approx(1.0, rel=1e-12)
        sigma = 1.0 / result.pascanu_scale[k]
        bound = (scales * sigma) ** 24  # Pascanu et al. (2013): ||d h_T / d h_0|| <= (gamma sigma_max)^(T-1)
        assert np.all(result.gain[:, 0, k] <= bound * (1 + 1e-9))
    assert sweep("lstm", x).pascanu_scale is None


def test_a_horizon_beyond_the_sequence_is_inf():
    x = np.random.default_rng(4).normal(size=(30, 1))
    result = sweep("rnn", x, scales=(0.1, 3.0))
    assert result.horizon[0, 0, 0] < 30 and result.horizon[1, 0, 0] == np.inf
    assert result.available == 29 and result.steps == 30


def test_median_and_spread_over_seeds():
    horizon = np.array([[[3.0, np.inf, 5.0], [np.nan, np.nan, np.nan]]])
    result = Sweep("rnn", np.array([1.0]), np.array([0.0, 1.0]), np.array([0, 1, 2]), 10, 1e-3,
                   horizon, np.full_like(horizon, 2.0), True, False, None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        median, spread = result.median(), result.spread()
    np.testing.assert_array_equal(median, [[5.0, np.nan]])
    np.testing.assert_array_equal(spread, [[[3.0, np.nan]], [[np.inf, np.nan]]])
    with pytest.raises(ValueError, match="quantity"):
        result.median("loss")


def test_models_run_in_groups_with_the_same_result(monkeypatch):
    x = np.random.default_rng(5).normal(size=(15, 2))
    options = dict(scales=(0.5, 1.0, 1.5), forget_biases=(0.0, 1.0, 2.0), seeds=(0,))
    whole = sweep("lstm", x, **options)
    module = importlib.import_module("lstmviz.sweeps")
    spec = lstmviz.ModelSettings().spec("lstm", 2)
    monkeypatch.setattr(module, "SWEEP_CHUNK_BYTES", 2 * module.sweep_bytes_per_model(spec, 15))
    assert module.models_per_group(spec, 15) == 2
    grouped = sweep("lstm", x, **options)
    np.testing.assert_array_equal(grouped.horizon, whole.horizon)
    np.testing.assert_allclose(grouped.gain, whole.gain, rtol=1e-12)


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(settings=lstmviz.ModelSettings(num_layers=2)), "one layer"),
        (dict(settings=lstmviz.ModelSettings(bidirectional=True)), "one layer"),
        (dict(scales=(-1.0,)), "recurrent_scale"),
        (dict(scales=()), "at least one"),
        (dict(seeds=(1.5,)), "seed"),
        (dict(forget_biases=(1.0,), settings=lstmviz.ModelSettings(bias=False)), "bias"),
        (dict(threshold=0.0), "threshold"),
        (dict(scales=np.linspace(0.1, 3, 100), forget_biases=np.linspace(-5, 5, 50), seeds=range(20),
              settings=lstmviz.ModelSettings(hidden_size=64)), "use fewer"),
    ],
)
def test_refusals(options, match):
    with pytest.raises(ValueError, match=match):
        sweep("lstm", np.zeros((200, 1)), **options)
    with pytest.raises(ValueError, match="cell"):
        sweep("transformer", np.zeros((5, 1)))


def test_the_engine_runs_every_cell_over_a_batch_of_parameter_sets():
    for cfg in VARIANTS:
        cell = cell_for(_settings(cfg).spec(cfg["cell"], 2))
        params = _settings(cfg).build(cfg["cell"], 2).params(0, 0)
        run = cell.batch_forward(params, np.ones((4, 2)), np.array([1.0, 2.0]))
        assert run.h.shape == (4, 2, cell.spec.output_size)

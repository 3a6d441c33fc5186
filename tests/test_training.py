"""Training lab: deterministic, learns on a tiny task, stops on request, snapshots of the right shapes."""

from __future__ import annotations

import dataclasses

import numpy as np
import plotly.graph_objects as go
import pytest

import lstmviz
from lstmviz import ModelSettings, tasks, training, training_plots
from lstmviz.training import TrainConfig, Trainer, TrainingError, train

TINY = TrainConfig(
    task="impulse",
    length=5,
    steps=60,
    batch_size=16,
    learning_rate=0.02,
    model=ModelSettings(hidden_size=8, forget_bias=2.0, seed=3),
    snapshot_every=20,
)


def _with_model(config, **changes):
    return dataclasses.replace(config, model=dataclasses.replace(config.model, **changes))


@pytest.fixture(scope="module")
def tiny_result():
    return train(TINY)


def test_training_lowers_the_loss(tiny_result):
    for cell, run in tiny_result.cells.items():
        first, last = run.snapshots[0].loss, run.final.loss
        assert last < 0.5 * first, f"{cell}: evaluation loss {first:.4f} -> {last:.4f}"
        assert np.nanmean(run.train_loss[-10:]) < np.nanmean(run.train_loss[:10])


def test_training_is_deterministic(tiny_result):
    again = train(TINY)
    for cell in TINY.cells:
        np.testing.assert_array_equal(again.cells[cell].train_loss, tiny_result.cells[cell].train_loss)
        for a, b in zip(again.cells[cell].snapshots, tiny_result.cells[cell].snapshots, strict=True):
            assert a.loss == b.loss
            for name in a.model.weights:
                np.testing.assert_array_equal(a.model.weights[name], b.model.weights[name])


def test_pausing_and_resuming_gives_the_same_numbers(tiny_result):
    trainer = Trainer(TINY)
    while not trainer.done:
        trainer.run(should_stop=lambda: False, max_seconds=0.02)
    resumed = trainer.result()
    for cell in TINY.cells:
        np.testing.assert_array_equal(resumed.cells[cell].train_loss, tiny_result.cells[cell].train_loss)


def test_snapshots_have_the_documented_shapes(tiny_result):
    steps = tiny_result.snapshot_steps
    assert steps == (0, 20, 40, 60)
    assert tiny_result.probe_x.shape == (TINY.length, 1)
    np.testing.assert_array_equal(tiny_result.probe_x, lstmviz.preset("impulse", TINY.length, TINY.seed))
    for cell, run in tiny_result.cells.items():
        assert run.train_loss.shape == run.train_accuracy.shape == run.grad_norm.shape == (TINY.steps,)
        assert run.grad_heatmap().shape == (len(steps), TINY.length)
        for snap in run.snapshots:
            assert snap.model.spec.cell == cell and snap.model.spec.hidden_size == run.hidden_size
            assert 0.0 <= snap.accuracy <= 1.0
            assert snap.readout_weight.shape == (1, run.hidden_size)
        # The gradient norms are those of the trace of the snapshot's model on the probe.
        snap = run.snapshots[-1]
        grad_h = lstmviz.trace(snap.model, tiny_result.probe_x, loss="last").layers[-1][0].grad_h
        np.testing.assert_allclose(snap.grad_norms, np.linalg.norm(grad_h, axis=1), rtol=1e-5)
    assert not tiny_result.stopped and tiny_result.steps_done == TINY.steps


def test_every_cell_sees_the_same_batches():
    config = dataclasses.replace(TINY, steps=3, learning_rate=1e-9, snapshot_every=3)
    seen = []
    original = training.batch

    def spy(*args, **kwargs):
        batch = original(*args, **kwargs)
        seen.append(batch[0].numpy().copy())
        return batch

    try:
        training.batch = spy
        train(config)
    finally:
        training.batch = original
    # One evaluation batch, then exactly one batch per step shared by all three cells.
    assert len(seen) == 1 + config.steps


def test_stop_hook_stops_and_keeps_a_final_snapshot():
    calls = []

    def should_stop():
        calls.append(1)
        return len(calls) > 7

    progress = []
    result = train(dataclasses.replace(TINY, steps=500), on_progress=progress.append, should_stop=should_stop)
    assert result.stopped and result.steps_done == 7
    assert [p.step for p in progress] == list(range(1, 8))
    for run in result.cells.values():
        assert run.final.step == 7 and run.train_loss.shape == (7,)


def test_equal_params_sizes_are_close_to_the_lstm():
    config = _with_model(dataclasses.replace(TINY, size_mode="equal_params"), hidden_size=32)
    task = tasks.task_info(config.task, config.length)[0]
    sizes = training.hidden_sizes(config, task)
    assert sizes["lstm"] == 32 and sizes["rnn"] > sizes["gru"] > 32
    target = training.parameter_count("lstm", 32, config, task)
    for cell, hidden in sizes.items():
        count = training.parameter_count(cell, hidden, config, task)
        assert abs(count - target) / target < 0.05, (cell, hidden, count, target)
    result = train(dataclasses.replace(config, steps=2, snapshot_every=2))
    for cell, run in result.cells.items():
        assert run.hidden_size == sizes[cell]
        assert run.parameter_count == training.parameter_count(cell, sizes[cell], config, task)


@pytest.mark.parametrize("task", ["adding", "copy", "temporal_order"])
def test_every_builtin_task_trains(task):
    result = train(dataclasses.replace(TINY, task=task, length=9, steps=4, snapshot_every=2))
    assert result.task.name == task
    for run in result.cells.values():
        assert np.all(np.isfinite(run.train_loss))


def test_next_step_on_text_and_numbers():
    text = train(
        dataclasses.replace(TINY, task="next_char", source="早上好早上好早上好", length=4, steps=30)
    )
    assert text.task.vocabulary == ("上", "好", "早") and text.task.kind == "classification"
    assert text.probe_x.shape == (9, 3)
    for run in text.cells.values():
        assert run.final.loss < run.snapshots[0].loss
    numbers = train(dataclasses.replace(TINY, task="next_value", source="0, 1, 0, 1, 0, 1, 0", steps=5))
    assert numbers.task.length == 5 and numbers.task.kind == "regression"


@pytest.mark.parametrize("cell, options",
                         [("gru", {"gru_variant": "tutorial"}), ("mingru", {}), ("minlstm", {})])
def test_cells_without_a_torch_twin_train_through_their_own_equations(cell, options):
    result = train(_with_model(dataclasses.replace(TINY, cells=(cell,), steps=20), **options))
    run = result.cells[cell]
    assert run.final.model.spec.cell == cell
    if options:
        assert run.final.model.spec.gru_variant == "tutorial"
    assert run.final.loss < run.snapshots[0].loss
    # The trained module computes what lstmviz traces: its output is the trace's output.
    import torch

    module = lstmviz.cells.cell_for(run.final.model.spec).torch_module(run.final.model)
    x = result.probe_x
    expected = module(torch.from_numpy(x[:, None]).float())[0][:, 0].detach().numpy()
    np.testing.assert_allclose(lstmviz.trace(run.final.model, x).output, expected, atol=1e-5)


def test_divergence_keeps_the_last_finite_weights():
    # A relu RNN with W_hh = 5 I multiplies h by 5 per step: past float32's range within 60 steps.
    config = _with_model(
        dataclasses.replace(TINY, cells=("rnn", "lstm"), clip_norm=None, length=60, steps=5,
                            snapshot_every=5),
        nonlinearity="relu",
        init="identity",
        recurrent_scale=5.0,
    )
    result = train(config)
    rnn = result.cells["rnn"]
    assert rnn.diverged_at == 1 and np.all(np.isnan(rnn.train_loss))
    for snap in rnn.snapshots:
        assert all(np.all(np.isfinite(w)) for w in snap.model.weights.values())
    assert result.cells["lstm"].diverged_at is None
    # inf/NaN: step 1's training loss and both snapshots' evaluation losses (the kept weights still
    # explode); the training steps after step 1 were never taken and are not counted.
    assert "3 values are inf/NaN" in training_plots.curves_figure(result).layout.title.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"task": "nope"}, "task must be"),
        ({"steps": 0}, "steps"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"clip_norm": -1.0}, "clip_norm"),
        ({"cells": ()}, "cells"),
        ({"cells": ("lstm", "lstm")}, "cells"),
        ({"size_mode": "equal"}, "size_mode"),
        ({"cells": ("lstm", "cnn")}, "cells"),
        ({"length": True}, "length"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"steps": 5000, "snapshot_every": 1}, "snapshots"),
        ({"source": "1, 2"}, "only used by the next-step"),
    ],
)
def test_bad_settings_are_refused(changes, message):
    with pytest.raises(TrainingError, match=message):
        dataclasses.replace(TINY, **changes)


def test_bad_user_sequences_are_refused():
    with pytest.raises(TrainingError, match="at least 3"):
        Trainer(dataclasses.replace(TINY, task="next_value", source="1, 2"))
    with pytest.raises(TrainingError, match="not a number"):
        Trainer(dataclasses.replace(TINY, task="next_value", source="1, x, 2"))
    with pytest.raises(TrainingError, match="single character"):
        Trainer(dataclasses.replace(TINY, task="next_char", source="aaaa"))


def test_memory_budget_refuses_before_any_work():
    huge = TrainConfig(task="copy", length=1000, batch_size=256,
                       model=ModelSettings(hidden_size=256, num_layers=3))
    assert training.step_bytes(huge) > 2**30
    with pytest.raises(TrainingError, match="MB .*smaller batch"):
        Trainer(huge)
    assert training.step_bytes(TrainConfig()) < 50 * 2**20


def test_stop_then_continue_goes_on_from_where_it_stopped(tiny_result):
    trainer = Trainer(TINY)
    trainer.run(should_stop=lambda: trainer.step >= 25)
    assert trainer.stopped and trainer.step == 25 and trainer.result().stopped
    trainer.resume()
    trainer.run()
    finished = trainer.result()
    assert not finished.stopped and finished.steps_done == TINY.steps
    for cell in TINY.cells:
        np.testing.assert_array_equal(finished.cells[cell].train_loss, tiny_result.cells[cell].train_loss)


def test_figures_build(tiny_result):
    figures = [
        training_plots.curves_figure(tiny_result, selected_step=20),
        training_plots.gradient_horizon_figure(tiny_result, selected_step=20),
        training_plots.snapshot_profile_figure(tiny_result, -1),
        training_plots.grad_norm_figure(tiny_result),
    ]
    assert all(isinstance(fig, go.Figure) for fig in figures)
    heatmaps = [t for t in figures[1].data if isinstance(t, go.Heatmap)]
    assert len(heatmaps) == len(TINY.cells)
    assert heatmaps[0].z.shape == (len(tiny_result.snapshot_steps), TINY.length)
    # Normalised rows: each row's largest value is 0 (log10 of itself over itself).
    np.testing.assert_allclose(np.nanmax(heatmaps[0].z, axis=1), 0.0)
    absolute = training_plots.gradient_horizon_figure(tiny_result, normalise=False)
    assert np.nanmax(absolute.data[0].z) != 0.0 or np.nanmax(absolute.data[1].z) != 0.0
    assert figures[0].layout.yaxis.dtick == 1  # one labelled tick per decade


def test_smooth_ignores_nan():
    values = np.array([1.0, 3.0, np.nan, 5.0])
    np.testing.assert_allclose(training_plots.smooth(values, 2), [1.0, 2.0, np.nan, 5.0])


def test_default_config_is_the_documented_default():
    config = TrainConfig()
    assert (config.task, config.length, config.model.hidden_size, config.steps) == ("adding", 40, 16, 600)
    assert config.model.forget_bias == 2.0
    assert config.cells == ("rnn", "lstm", "gru") and config.clip_norm == 1.0

"""The Training lab page under AppTest: renders, trains briefly, stops, opens snapshots and the example."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lstmviz import ModelSettings
from lstmviz.training import TrainConfig, Trainer

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PAGE = "pages/training.py"
MODELS_KEY = "lstmviz_models"  # where ui.use_models keeps the models every page traces


def _training_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page(PAGE).run()
    return at


def _no_problems(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture(scope="module")
def trained() -> AppTest:
    at = _training_page()
    at.number_input(key="tl_steps").set_value(20)
    at.number_input(key="tl_every").set_value(10)
    at.number_input(key="tl_length").set_value(8)
    at.run()
    at.button(key="tl_train").click().run()
    return at


def test_page_renders_with_its_controls():
    at = _training_page()
    _no_problems(at)
    assert at.title[0].value == "Training lab"
    assert at.selectbox(key="tl_task").value == "adding"
    assert at.button(key="tl_stop_button").disabled
    assert "tl_result" not in at.session_state


def test_short_training_shows_curves_heatmaps_and_summary(trained):
    _no_problems(trained)
    result = trained.session_state["tl_result"]
    assert result.steps_done == 20 and not result.stopped
    assert result.snapshot_steps == (0, 10, 20)
    assert set(result.cells) == {"rnn", "lstm", "gru"}
    keys = {chart.key for chart in trained.get("plotly_chart")}
    assert {"tl_curves", "tl_horizon", "tl_gradnorm", "tl_profile"} <= keys
    assert len(trained.metric) == 3
    assert trained.session_state["tl_trainer"].done  # finished: nothing left to resume
    assert trained.button(key="tl_continue").disabled


def test_opening_a_snapshot_switches_every_page_to_its_models(trained):
    trained.button(key="tl_open_snapshot").click().run()
    _no_problems(trained)
    active = trained.session_state[MODELS_KEY]
    result = trained.session_state["tl_result"]
    assert "step 20" in active.label
    for cell, model in active.models.items():
        assert model is result.cells[cell].final.model
    # AppTest runs a switched-to page on its own; the entry script draws the sidebar (and Step through).
    trained.switch_page("app.py").run()
    _no_problems(trained)
    config = trained.session_state["app_config"]
    assert (config.preset, config.preset_length, config.loss) == ("adding", 8, "last")
    assert config.models_key == active.key
    trained.switch_page("pages/gradients.py").run()
    _no_problems(trained)


def test_stop_ends_training_with_what_was_trained():
    at = _training_page()
    config = TrainConfig(task="adding", length=8, steps=500, batch_size=8, model=ModelSettings(hidden_size=4),
                         snapshot_every=50)
    trainer = Trainer(config)
    trainer.run(max_seconds=0.2)
    done = trainer.step
    assert 0 < done < config.steps
    at.session_state["tl_trainer"] = trainer
    at.session_state["tl_stop"] = True  # what a click on Stop sets before the rerun
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    result = at.session_state["tl_result"]
    assert result.stopped and result.steps_done == done
    assert result.snapshot_steps[-1] == done
    assert any("Stopped after" in warning.value for warning in at.warning)
    assert not at.button(key="tl_continue").disabled
    at.button(key="tl_continue").click().run()
    finished = at.session_state["tl_result"]
    assert finished.steps_done == config.steps and not finished.stopped


def test_unfinished_training_resumes_on_the_next_run():
    at = _training_page()
    config = TrainConfig(task="impulse", length=6, steps=12, batch_size=8, model=ModelSettings(hidden_size=4),
                         snapshot_every=4)
    trainer = Trainer(config)
    trainer.run(should_stop=lambda: trainer.step >= 5)  # as if a rerun had interrupted it at step 5
    trainer.stopped = False
    at.session_state["tl_trainer"] = trainer
    at.run()
    result = at.session_state["tl_result"]
    assert result.steps_done == 12 and not result.stopped


def test_example_button_opens_the_trained_models():
    at = _training_page()
    at.button(key="tl_open_example").click().run()
    _no_problems(at)
    active = at.session_state[MODELS_KEY]
    assert set(active.models) == {"rnn", "lstm"}
    assert "recall-the-first-input" in active.label
    at.switch_page("app.py").run()  # the sidebar, then Step through, on the example's models
    _no_problems(at)
    config = at.session_state["app_config"]
    assert (config.preset, config.preset_length) == ("impulse", 100)
    assert {"rnn", "lstm"} <= set(config.cells) and config.models_key == active.key

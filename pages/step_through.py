"""Step through: every enabled cell at the same step, forwards and backwards, stepped in the browser."""

import streamlit as st

from ui import downloads, page, step_view
from ui.models import loaded_models

st.title("Step through")
st.markdown(
    "Each column is one cell at the same step *t*: the forward values on its diagram and in its equations, "
    "and the gradient arriving there, with the width of each backward path set by what it carries (log "
    "scale, shared by all cells). **▶** plays forward; **◀ Play backward** sends the gradient from the last "
    "step to the first. Click a gate (or a state) on a diagram to clamp it: every page then shows "
    "the clamped run."
)
loaded = page.load()
if loaded is not None:
    config, view = loaded
    left, right = st.columns([1, 2])
    with left:
        unit = step_view.unit_choice(view)
    with right:
        layer, direction = page.pick_layer(view)
    models = loaded_models()
    t = step_view.step_stepper(config, view, layer, direction, unit,
                               None if models is None else models.models)
    step_view.whole_run(view, layer, direction, t)
    downloads.section(config, view)

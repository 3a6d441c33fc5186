"""What-if lab: clamp gates and states, map vanishing and exploding, see the spectrum and the connectivity."""

import streamlit as st

from ui import page, view_state, whatif_view
from ui.models import loaded_models

TABS = ("Clamp", "Phase diagram", "Spectrum", "Connectivity")

st.title("What-if lab")
st.markdown(
    "Watching is not yet understanding: **force** a gate and watch what the memory and the gradient do; "
    "push the recurrent weights and watch a cell cross from vanishing to exploding."
)
loaded = page.load()
if loaded is not None:
    config, view = loaded
    models = loaded_models()
    models = None if models is None else models.models
    if view_state.get("tab") not in TABS:
        view_state.put("tab", TABS[0])
    clamp, phase, spectrum, connectivity = st.tabs(TABS, key=view_state.key("tab"), on_change="rerun")
    if clamp.open:
        with clamp:
            whatif_view.clamps_section(config, view)
            whatif_view.comparison(config, view, models)
            whatif_view.drag_heatmap(view)
    if phase.open:
        with phase:
            whatif_view.phase_section(config, view)
    if spectrum.open:
        with spectrum:
            whatif_view.spectrum_section(view)
    if connectivity.open:
        with connectivity:
            whatif_view.connectivity_section(config, view, models)

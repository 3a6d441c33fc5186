"""Training lab: train the cells side by side, watch the gradient horizon move, load and save weights."""

import streamlit as st

from ui import models_in, training_controls, training_loop, training_results

st.title("Training lab")
st.markdown(
    "Untrained cells only show how gradients *can* flow. Here every enabled cell **learns** a task that "
    "needs memory, with identical settings: the same seed, the same batches, Adam with the same learning "
    "rate and the same number of steps. Snapshots keep the weights and ‖∂L/∂h_t‖ on a fixed probe sequence, "
    "so you can watch how far back the gradient reaches while each cell learns, and open any snapshot in the "
    "other pages."
)
config = training_controls.settings()
training_loop.train(config)
training_results.show()
models_in.section()

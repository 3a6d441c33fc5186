"""lstmviz: step a sequence through RNN, LSTM and GRU cells and watch gates, states and gradients.

Run with ``streamlit run app.py``. This file is the router: it draws the shared sidebar once (its
settings become one frozen config, see ``ui/``) and runs the page chosen in the navigation.
"""

from pathlib import Path

import streamlit as st

from ui.sidebar import draw_sidebar

HERE = Path(__file__).parent

st.set_page_config(page_title="lstmviz", page_icon=":material/repeat:", layout="wide")

pages = [
    st.Page("pages/step_through.py", title="Step through", icon=":material/step:", default=True),
    st.Page("pages/gates_states.py", title="Gates and states", icon=":material/grid_view:"),
    st.Page("pages/gradients.py", title="Gradients", icon=":material/trending_down:"),
    st.Page("pages/equations.py", title="Equations", icon=":material/functions:"),
]
if (HERE / "pages" / "training.py").exists():
    pages.append(st.Page("pages/training.py", title="Training lab", icon=":material/fitness_center:"))

page = st.navigation(pages)
draw_sidebar()
page.run()

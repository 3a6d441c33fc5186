"""lstmviz: step a sequence through recurrent cells; watch their gates, states and gradients.

The cells are the RNN, LSTM, GRU, minGRU and minLSTM of :mod:`lstmviz.cells`.

Run with ``streamlit run app.py``. This file is the router: it draws the shared sidebar once (its
settings become one frozen config, see ``ui/``) and runs the page chosen in the navigation.
"""

import os

# Small matrix products on a shared 2-core server: threaded BLAS only fights the other sessions.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import streamlit as st  # noqa: E402

from ui import lessons, view_state  # noqa: E402
from ui.chart_downloads import png_buttons  # noqa: E402
from ui.page import start_view, view_download  # noqa: E402
from ui.sidebar import draw_sidebar  # noqa: E402

st.set_page_config(page_title="lstmviz", page_icon=":material/repeat:", layout="wide",
                   initial_sidebar_state="collapsed" if lessons.presenting() else "auto")

pages = [
    st.Page("pages/why_gates.py", title="Why gates", icon=":material/insights:", default=True),
    st.Page("pages/step_through.py", title="Step through", icon=":material/step:"),
    st.Page("pages/gates_states.py", title="Gates and states", icon=":material/grid_view:"),
    st.Page("pages/gradients.py", title="Gradients", icon=":material/trending_down:"),
    st.Page("pages/equations.py", title="Equations", icon=":material/functions:"),
    st.Page("pages/whatif.py", title="What-if lab", icon=":material/science:"),
    st.Page("pages/training.py", title="Training lab", icon=":material/fitness_center:"),
    st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
]

page = st.navigation(pages)
view_state.load_link()
lessons.route()
config = draw_sidebar(lessons.visible_controls())
lessons.present_style()
lessons.panel(config)
start_view()
page.run()
view_state.sync()
view_download(page.title)
png_buttons()

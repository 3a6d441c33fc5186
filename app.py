"""lstmviz: step a sequence through RNN, LSTM, GRU, minGRU and minLSTM cells; watch gates, states and gradients.

Run with ``streamlit run app.py``. This file is the router: it draws the shared sidebar once (its
settings become one frozen config, see ``ui/``) and runs the page chosen in the navigation.
"""

import streamlit as st

from ui.chart_downloads import png_buttons
from ui import view_state
from ui.page import start_view, view_download
from ui.sidebar import draw_sidebar

st.set_page_config(page_title="lstmviz", page_icon=":material/repeat:", layout="wide")

pages = [
    st.Page("pages/why_gates.py", title="Why gates", icon=":material/insights:", default=True),
    st.Page("pages/step_through.py", title="Step through", icon=":material/step:"),
    st.Page("pages/gates_states.py", title="Gates and states", icon=":material/grid_view:"),
    st.Page("pages/gradients.py", title="Gradients", icon=":material/trending_down:"),
    st.Page("pages/equations.py", title="Equations", icon=":material/functions:"),
    st.Page("pages/training.py", title="Training lab", icon=":material/fitness_center:"),
]

page = st.navigation(pages)
view_state.load_link()
draw_sidebar()
start_view()
page.run()
view_state.sync()
view_download(page.title)
png_buttons()

"""A small Streamlit app that mounts the stepper with the sample payloads in tests/fixtures/.

Run from the repository root: ``streamlit run tests/apps/stepper_demo.py``. Query parameters pick the
view (the browser tests use them): ``fixture`` (t40 | t2000), ``cells`` (1–5), ``window`` (all |
last1000 | every4), ``step`` (a first step other than the fixture's). The page prints what Python
receives (``python step: N``, ``clamp: …``) and counts its script runs.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ui.stepper import encode_payload, stepper  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"

st.set_page_config(
    page_title="stepper demo",
    layout="wide",
    initial_sidebar_state="collapsed" if st.query_params.get("sidebar") == "collapsed" else "expanded",
)


@st.cache_data
def load(name: str) -> dict:
    return json.loads((FIXTURES / f"stepper_{name}.json").read_text(encoding="utf-8"))


def window(payload: dict, index: list[int], note: str) -> dict:
    """The payload restricted to the positions ``index`` (every per-step list sliced alike)."""
    out = copy.deepcopy(payload)

    def cut(seq):
        return [seq[i] for i in index]

    out["times"] = cut(payload["times"])
    out["note"] = note
    for cell in out["cells"]:
        cell["forward"] = {k: cut(v) for k, v in cell["forward"].items()}
        b = cell["backward"]
        b["grad"] = {k: cut(v) for k, v in b["grad"].items()}
        b["log10_norm"] = {k: cut(v) for k, v in b["log10_norm"].items()}
        for p in b["paths"]:
            p["log10"] = cut(p["log10"])
        eq = cell["equations"]
        eq["slots"] = {k: cut(v) for k, v in eq["slots"].items()}
    out["step"] = out["times"][-1]
    return out


params = st.query_params
fixture = params.get("fixture", "t40")
n_cells = int(params.get("cells", "4"))
view = params.get("window", "all")

st.session_state.setdefault("runs", 0)
st.session_state["runs"] += 1
st.session_state.setdefault("token", 0)
st.session_state.setdefault("jump_to", None)

with st.sidebar:
    st.header("Stepper demo")
    st.write(f"fixture: {fixture} · cells: {n_cells} · window: {view}")
    if st.button("Jump to t = 20 (new step_token)"):
        st.session_state["token"] += 1
        st.session_state["jump_to"] = 20
    if st.button("Jump to t = 5 (new step_token)"):
        st.session_state["token"] += 1
        st.session_state["jump_to"] = 5
    st.button("Rerun (same payload)")
    st.caption("Stepping happens in the browser: the run counter below must not move while stepping.")

payload = load(fixture)
if view == "last1000":
    T = payload["T"]
    payload = window(payload, list(range(T - 1000, T)), f"steps {T - 1000:,}–{T - 1:,} of {T:,} shown")
elif view == "every4":
    payload = window(payload, list(range(0, payload["T"], 4)), f"every 4th step of {payload['T']:,} shown")
else:
    payload = copy.copy(payload)
cells = list(payload["cells"])
while len(cells) < n_cells:  # the T = 40 sample has four cells: repeat the LSTM for a fifth
    extra = copy.deepcopy(next(c for c in payload["cells"] if c["key"] == "lstm"))
    extra["key"] = f"lstm_{len(cells)}"
    extra["label"] = "LSTM (copy)"
    cells.append(extra)
payload["cells"] = cells[:n_cells]
payload["step_token"] = st.session_state["token"]
if st.session_state["jump_to"] is not None:
    payload["step"] = st.session_state["jump_to"]
elif "step" in params:
    payload["step"] = int(params["step"])

started = time.perf_counter()
state = stepper(payload, key="demo")
elapsed = time.perf_counter() - started

if state.clamp is not None:
    st.session_state["last_clamp"] = state.clamp
c1, c2, c3, c4 = st.columns(4)
c1.markdown(f"python step: **{state.step}**")
c2.markdown(f"script runs: **{st.session_state['runs']}**")
c3.markdown(f"clamp: `{json.dumps(st.session_state.get('last_clamp'))}`")
c4.markdown(f"payload: {len(encode_payload(payload)):,} bytes · mount {elapsed * 1000:.0f} ms")

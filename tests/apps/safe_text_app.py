"""Test app: visitors' strings through ui.safe_text.plain in every Markdown element (radio and pills
options render Markdown too), and raw in the elements that need no escaping.

The strings come from the JSON file named by SAFE_TEXT_CASES; each element sits in a container keyed
``c<case>-<element>`` (class ``st-key-c<case>-<element>``)."""

import json
import os
from pathlib import Path

import streamlit as st

from ui.safe_text import plain

cases = json.loads(Path(os.environ["SAFE_TEXT_CASES"]).read_text(encoding="utf-8"))

with st.container(key="control"):  # unescaped, so the test can see that its checks can fail
    st.markdown("**bold** [Log in](http://evil.example/login)")

for i, text in enumerate(cases):
    shown = plain(text)
    for name, element in (
        ("markdown", st.markdown),
        ("caption", st.caption),
        ("error", st.error),
        ("warning", st.warning),
        ("info", st.info),
        ("success", st.success),
    ):
        with st.container(key=f"c{i}-{name}"):
            element(shown)
    with st.container(key=f"c{i}-checkbox"):
        st.checkbox(shown, key=f"checkbox{i}")
    with st.container(key=f"c{i}-text_input"):
        st.text_input(shown, key=f"text_input{i}")
    with st.container(key=f"c{i}-text"):
        st.text(text)
    with st.container(key=f"c{i}-code"):
        st.code(text, language=None)
    with st.container(key=f"c{i}-radio"):  # option labels are Markdown too
        st.radio(shown, [text], format_func=plain, key=f"radio{i}")
    with st.container(key=f"c{i}-pills"):
        st.pills(shown, [text], format_func=plain, key=f"pills{i}")
    with st.container(key=f"c{i}-selectbox"):
        st.selectbox("Option", [text], key=f"selectbox{i}")
    with st.container(key=f"c{i}-json"):
        st.json({"value": text})

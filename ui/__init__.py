"""Streamlit glue for the lstmviz app: the sidebar's config, the cached computation, shared page parts.

Pages import from here; the library (``lstmviz``) never imports Streamlit.
"""

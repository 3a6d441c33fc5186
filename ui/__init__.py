"""Streamlit glue for the lstmviz app: the sidebar's config, the cached computation, shared page parts.

Pages import from here; the library (``lstmviz``) never imports Streamlit.
"""

from .compute import Computed
from .config import AppConfig, default_config
from .models import active_models, clear_models, use_models

__all__ = ["AppConfig", "Computed", "active_models", "clear_models", "default_config", "use_models"]

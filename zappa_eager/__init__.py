"""zappa-eager: Zappa with eager initialization during AWS Lambda's INIT phase.

This module is imported inside Lambda on every cold start (``handler.py`` imports
``zappa_eager.runtime.boot``), so it must stay free of tooling imports.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

"""Model catalog service: the `GET /models` endpoint of the inference API platform.

The public surface is small: `build_models_handler` turns settings into the request handler
that `main.py` exposes as the functions-framework target `models`.
"""

from models_api.app import build_models_handler

__all__ = ["build_models_handler"]

"""The simulated OpenAI-compatible (vLLM-like) server that stands in for a GPU.

It shares no answer-parsing or scoring code with the client it is tested against: it
reads the prompt the way a model would (from its text) and answers from the dataset's
gold labels, wrong at a seeded rate, so that a shared bug cannot hide itself.
"""

from .app import SimConfig, build_app, serve_in_background

__all__ = ["SimConfig", "build_app", "serve_in_background"]

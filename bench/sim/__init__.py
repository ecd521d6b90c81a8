"""The simulated OpenAI-compatible (vLLM-like) server that stands in for a GPU.

It shares no answer-parsing or scoring code with the client it is tested against: it
reads the prompt the way a model would (from its text) and answers from the dataset's
gold labels, wrong at a seeded rate, so that a shared bug cannot hide itself.  Its
speed comes from a continuous-batching step model (:mod:`.engine`) driven by a profile
(:mod:`.profile`, data in `profiles/`); see docs/simulator.md.
"""

from .app import build_app, serve_in_background
from .config import SimConfig, SimConfigError, sim_config_from_settings
from .faults import FAULT_KINDS, FaultConfig, FaultSpecError, parse_faults
from .profile import DEFAULT_PROFILE, Profile, ProfileError, available, load_profile
from .styles import STYLE_NAMES

__all__ = [
    "DEFAULT_PROFILE",
    "FAULT_KINDS",
    "STYLE_NAMES",
    "FaultConfig",
    "FaultSpecError",
    "Profile",
    "ProfileError",
    "SimConfig",
    "SimConfigError",
    "available",
    "build_app",
    "load_profile",
    "parse_faults",
    "serve_in_background",
    "sim_config_from_settings",
]

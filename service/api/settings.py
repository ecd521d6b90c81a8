"""The service's own settings, validated once at the edge (``bench serve``) into a frozen object.

The rule that matters for security lives here as a property: a service bound to anything
but loopback *requires* a token, and :meth:`ServiceConfig.check` refuses to build one
without it.  Secrets (the token, the upstream API key) are kept out of ``repr``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..backends import SimBackend
from ..errors import ConfigError

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def normalise_url(url: str) -> str:
    """A base URL as compared against the allow-list: scheme and host lower-cased, no
    trailing slash, no credentials (``""`` for anything that is not http(s))."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    if parts.username is not None or parts.password is not None:
        return ""
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return ""
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def is_loopback(host: str) -> bool:
    """``True`` for 127.0.0.0/8, ::1 and ``localhost``; any other address is public."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    token: str | None = field(default=None, repr=False)
    max_jobs: int = 2
    #: Requests in flight per upstream base URL, summed over every running job.
    max_inflight_per_endpoint: int = 64
    dataset_roots: tuple[Path, ...] = ()
    policy_roots: tuple[Path, ...] = ()
    max_body_bytes: int = 256 * 1024
    #: Seconds running jobs get to reach a checkpoint on shutdown (SIGTERM).
    grace_period: float = 10.0
    api_key: str | None = field(default=None, repr=False)
    max_matrix_runs: int = 256
    #: The model servers jobs may name (normalised base URLs).  With an API key set, the
    #: key is only ever sent to these: :meth:`check` refuses a key without an allow-list.
    upstreams: tuple[str, ...] = ()
    #: Seconds a client has to send a request's headers, and then its body; a slow or
    #: half-open connection is closed after that (before any authentication).
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    #: Open client connections at most: at the cap the oldest idle or half-sent ones are
    #: closed, so a flood cannot exhaust file descriptors or lock out ``/healthz``.
    max_connections: int = 1024
    sim_backend: SimBackend | None = field(default=None, repr=False, compare=False)

    @property
    def requires_token(self) -> bool:
        """A token is required off loopback, and whenever one is configured."""
        return self.token is not None or not is_loopback(self.host)

    def check(self) -> ServiceConfig:
        """Raise :class:`ConfigError` (naming the option) for an unsafe or impossible config."""
        if not is_loopback(self.host) and not self.token:
            raise ConfigError(
                "token-env",
                f"binding {self.host} (not loopback) requires a token; refusing to start",
            )
        if self.token is not None and len(self.token) < 16:
            raise ConfigError("token-env", "the token must be at least 16 characters")
        if self.api_key and not self.upstreams:
            raise ConfigError(
                "upstream",
                "an upstream API key is set: name the model servers it may be sent to "
                "(--upstream URL, repeatable)",
            )
        for url in self.upstreams:
            if normalise_url(url) != url:
                raise ConfigError("upstream", f"{url}: not a normalised http(s) base URL")
        if self.header_timeout <= 0 or self.body_timeout <= 0:
            raise ConfigError("header-timeout", "timeouts must be > 0")
        if self.max_connections < 8:
            raise ConfigError("max-connections", "must be >= 8")
        if self.max_jobs < 1:
            raise ConfigError("max-jobs", "must be >= 1")
        if self.max_inflight_per_endpoint < 1:
            raise ConfigError("max-inflight-per-endpoint", "must be >= 1")
        if self.max_body_bytes < 1024:
            raise ConfigError("max-body-bytes", "must be >= 1024")
        if self.grace_period < 0:
            raise ConfigError("grace-period", "must be >= 0")
        for name, roots in (
            ("dataset-root", self.dataset_roots),
            ("policy-root", self.policy_roots),
        ):
            for root in roots:
                if not root.is_dir():
                    raise ConfigError(name, f"{root}: not a directory")
        return self

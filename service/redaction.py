"""Secrets never reach the store, the logs or an API answer: one place that scrubs text.

An upstream server may echo what it was sent (``401 ... invalid key Bearer sk-...``) and a
submitted URL may carry ``user:password@``.  Everything that turns such text into a stored
error, a log line or a served view passes it through :func:`redact` (the known secrets, plus
anything shaped like a bearer token or an OpenAI-style key) or :func:`url_without_credentials`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# A bearer credential, and the key shapes of the common hosted APIs (OpenAI ``sk-``,
# Anthropic ``sk-ant-``, Hugging Face ``hf_``).  Bounded quantifiers keep this linear.
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{1,512}"),
    re.compile(r"\b(sk-)[A-Za-z0-9_-]{8,256}"),
    re.compile(r"\b(hf_)[A-Za-z0-9]{8,256}"),
)


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every given secret, and anything that looks like a key, masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def url_without_credentials(url: str) -> str:
    """``http://user:pw@host/v1`` -> ``http://***@host/v1``; other URLs unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{MASK}@{host}"))

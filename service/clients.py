"""Building the client a run talks through, from its config.

One endpoint and no batching is a plain :class:`ChatClient`; ``batch_size > 1`` wraps it
in a :class:`BatchingClient`; several endpoints are an :class:`EndpointPool` of those.
All of them offer the same ``chat(system, user, model, reasoning_effort)``.
"""

from __future__ import annotations

import dataclasses

from .batching import BatchingClient
from .chat_templates import ChatTemplate, load_chat_template
from .client import ChatClient, ClientSettings
from .config import RunConfig
from .endpoints import ChatLike, EndpointPool


def build_client(
    config: RunConfig, settings: ClientSettings, template: ChatTemplate | None = None
) -> ChatLike:
    """``template``: the completions route's chat template, loaded by ``prepare``."""
    urls = (config.base_url, *config.endpoints)
    if template is None and config.batch_size > 1:
        template = load_chat_template(config.chat_template)

    def one(url: str) -> ChatLike:
        client = ChatClient(dataclasses.replace(settings, base_url=url))
        if config.batch_size <= 1:
            return client
        return BatchingClient(
            client, config.batch_size, mode=config.batch_endpoint, template=template
        )

    if len(urls) == 1:
        return one(urls[0])
    return EndpointPool([(url, one(url)) for url in urls])

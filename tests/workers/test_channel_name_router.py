"""ChannelNameRouter: one ``{"type": "channel", "channel": name}`` scope per channel name."""

from __future__ import annotations

import pytest

from tidings.exceptions import ConfigurationError
from tidings.routing import ChannelNameRouter

pytestmark = pytest.mark.timeout(10)


async def _nothing(receive, send):  # pragma: no cover - never awaited
    raise AssertionError


async def test_routes_a_channel_scope_to_the_app_for_its_name():
    seen = []

    async def thumbnails(scope, receive, send):
        seen.append(("thumbnails", scope))

    async def emails(scope, receive, send):
        seen.append(("emails", scope))

    router = ChannelNameRouter({"thumbnails": thumbnails, "emails": emails})
    await router({"type": "channel", "channel": "emails"}, _nothing, _nothing)
    assert seen == [("emails", {"type": "channel", "channel": "emails"})]


async def test_unknown_channel_names_the_known_ones():
    router = ChannelNameRouter({"thumbnails": _nothing})
    with pytest.raises(ConfigurationError, match=r"'videos'.*thumbnails"):
        await router({"type": "channel", "channel": "videos"}, _nothing, _nothing)


async def test_scope_without_channel_key_is_a_clear_error():
    router = ChannelNameRouter({"thumbnails": _nothing})
    with pytest.raises(ConfigurationError, match="'channel' scopes"):
        await router({"type": "websocket", "path": "/"}, _nothing, _nothing)


def test_bad_mapping_is_refused_at_construction():
    with pytest.raises(TypeError, match="mapping"):
        ChannelNameRouter(["thumbnails"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="process-specific"):
        ChannelNameRouter({"jobs!x": _nothing})


def test_channels_lists_the_names_for_the_worker():
    router = ChannelNameRouter({"b": _nothing, "a": _nothing})
    assert router.channels == ["b", "a"]


def test_invalid_name_is_refused_at_construction():
    with pytest.raises(TypeError):
        ChannelNameRouter({"no spaces": _nothing})

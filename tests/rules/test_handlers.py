import pytest

from tidings.exceptions import NoHandler
from tidings.rules.handlers import handler_name


@pytest.mark.parametrize(
    ("type_", "name"),
    [("chat.message", "chat_message"), ("websocket.ingest", "websocket_ingest"), ("x", "x")],
)
def test_dots_become_underscores(type_, name):
    assert handler_name({"type": type_}) == name


@pytest.mark.parametrize(
    ("message", "match"),
    [
        ({"text": "no type"}, "no 'type' key"),
        ({"type": "_private"}, "starts with '_'"),
        ({"type": ".hidden"}, "starts with '_'"),
        ({"type": ""}, "non-empty str"),
        ({"type": 3}, "non-empty str"),
    ],
)
def test_undispatchable_messages_raise(message, match):
    with pytest.raises(NoHandler, match=match):
        handler_name(message)

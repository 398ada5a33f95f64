import pytest

from tidings.routing.origins import origin_allowed


@pytest.mark.parametrize(
    ("origin", "patterns", "allowed"),
    [
        ("http://localhost:8000", ["localhost"], True),
        ("https://app.example.com", [".example.com"], True),
        ("https://example.com", [".example.com"], True),
        ("https://badexample.com", [".example.com"], False),
        ("http://example.com:8000", ["http://example.com:8000"], True),
        ("https://example.com:8000", ["http://example.com:8000"], False),
        ("https://example.com", ["https://example.com:443"], True),
        ("http://evil.test", ["localhost", "127.0.0.1"], False),
        (None, ["localhost"], False),
        ("null", ["localhost"], False),
        (None, ["*"], True),
    ],
)
def test_origin_patterns(origin, patterns, allowed):
    assert origin_allowed(origin, patterns) is allowed

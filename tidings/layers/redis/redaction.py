"""Host configuration shown without its secrets: pure rules that hosts.py and deployments.py share.

A password may sit in a URL's userinfo (raw ``/ ? # @`` included, as cloud keys have them), in a
query option, or anywhere in a tuple or dict a user wrote. Errors and labels therefore name an
entry by its shape, never its content, and URLs are shown with their userinfo and query cut off.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote


def shape(item: object) -> str:
    """What ``item`` is, without its content (which may hold a password)."""
    if isinstance(item, (tuple, list, Mapping)):
        return f"a {type(item).__name__} of {len(item)} item(s)"
    return f"a {type(item).__name__}"


def redact(url: str) -> str:
    """The URL without userinfo or query (either may hold a password)."""
    scheme, _, rest = url.partition("://")
    # A raw '?' or '#' may sit inside the password, so cut at the last '@' before
    # cutting the query off: whatever precedes an '@' is never shown.
    _, at, hosts = rest.rpartition("@")
    shown = (hosts if at else rest).partition("?")[0].partition("#")[0]
    return f"{scheme}://***@{shown}" if at else f"{scheme}://{shown}"


def encode_userinfo(url: str) -> str:
    """Percent-encode what in a URL's user and password would break its parsing.

    Cloud keys often hold ``/``, ``?``, ``#`` or ``@``; written raw they end the password
    early, and the rest would be read as host and path (and printed as such). Everything
    up to the last ``@`` before the path is taken as user:password.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, hostpart = rest.rpartition("@")
    user, colon, password = userinfo.partition(":")
    safe = "%!$&'()*+,;=-._~"
    password = quote(password, safe=safe + ":")
    return f"{scheme}://{quote(user, safe=safe)}{colon}{password}@{hostpart}"

"""Which browser origins may open the websocket.

Origins are parsed and compared as (scheme, host, port), never by prefix, so
``http://127.0.0.1.evil.com`` is not ``http://127.0.0.1``. A missing Origin and ``null`` are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

Origin = tuple[str, str, int]
DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}


def parse_origin(text: str) -> Origin | None:
    """``"http://Host:8000"`` -> ``("http", "host", 8000)``; None when it is not a web origin."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def own_origin(host_header: str, secure: bool) -> Origin | None:
    """The origin of the page that the server itself served under this Host header."""
    return parse_origin(("https://" if secure else "http://") + host_header)


def origin_allowed(
    origin: str | None,
    host_header: str | None,
    *,
    secure: bool = False,
    allowed: Iterable[str] = (),
    loopback_only: bool = False,
) -> bool:
    """True when ``origin`` is the server's own origin or on the allow-list.

    ``loopback_only`` (a server bound to 127.0.0.1) accepts its own origin only under a loopback
    host name, which defeats DNS rebinding (a foreign name resolving to 127.0.0.1).
    """
    if not origin or origin.strip() == "null":
        return False
    theirs = parse_origin(origin)
    if theirs is None:
        return False
    if any(parse_origin(a) == theirs for a in allowed):
        return True
    mine = own_origin(host_header, secure) if host_header else None
    if mine is None or mine != theirs:
        return False
    return not loopback_only or mine[1] in LOOPBACK_NAMES

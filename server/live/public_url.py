"""The address other devices in the room can open (a lecture room's link and QR code)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from server.live.origin import LOOPBACK_NAMES
from server.settings import Settings

WILDCARDS = {"0.0.0.0", "::", ""}


def public_base(host_header: str, secure: bool, settings: Settings) -> str:
    """``scheme://host:port`` for links meant for other devices.

    The configured ``public_url`` if there is one; else the Host the page was loaded from, unless
    that is this computer's loopback name while the server listens on every interface: then this
    computer's address on the local network, which the students' phones can reach.
    """
    if settings.public_url:
        return settings.public_url.rstrip("/")
    scheme = "https" if secure else "http"
    parts = urlsplit(f"//{host_header}")
    if parts.hostname in LOOPBACK_NAMES and settings.host in WILDCARDS:
        address = lan_address()
        if address is not None:
            port = f":{parts.port}" if parts.port else ""
            return f"{scheme}://{address}{port}"
    return f"{scheme}://{host_header}"


def lan_address() -> str | None:
    """The IPv4 address this computer would use to reach other hosts, if it has one.

    Connecting a UDP socket sends nothing; it only asks the kernel for the route.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            address: str = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address

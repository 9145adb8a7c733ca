"""Web origins (RFC 6454) and the rule that tells a browser's cross-site request apart.

An origin is `scheme://host[:port]`: http or https, the host in lower case, the port only
when it is not the scheme's default; that is how browsers write the `Origin` header. The
gateway allows a fixed list of them (`ALLOWED_ORIGINS`); `AllowedOrigins.refuses` is the
CSRF rule of OWASP's cheat sheet (verifying the origin with standard headers):

- an `Origin` header outside the list is refused, `Origin: null` included;
- without `Origin`, a `Referer` whose origin is outside the list is refused;
- with neither, the request is not a browser's (every current browser sends `Origin` on
  a cross-site POST and on every WebSocket handshake) and passes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """The origin of an absolute http(s) URL, or None when `url` is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # a port out of range or not a number
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_origin(text: str) -> str:
    """`text` as an origin, written the way browsers write it; ValueError unless it is
    exactly `scheme://host[:port]` (a trailing `/` is tolerated)."""
    origin = origin_of(text)
    parts = urlsplit(text.strip())
    extra = parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc
    if origin is None or extra:
        raise ValueError(f"{text!r} is not an origin (scheme://host[:port], http or https)")
    if not origin.isascii():  # browsers send an internationalised host as punycode
        raise ValueError(f"{text!r}: write the host in its xn-- (punycode) form")
    return origin


@dataclass(frozen=True, slots=True)
class AllowedOrigins:
    """The origins whose pages may use the session cookie, and receive CORS answers."""

    origins: frozenset[str]

    def __post_init__(self) -> None:
        if not self.origins:
            raise ValueError("at least one origin must be allowed")
        for origin in self.origins:
            if parse_origin(origin) != origin:
                raise ValueError(f"{origin!r} is not written as a browser writes an origin")

    @classmethod
    def parse(cls, listed: Iterable[str]) -> AllowedOrigins:
        """Origins as configured; `*` and `null` are refused (they would allow any site)."""
        origins = set()
        for text in (item.strip() for item in listed):
            if text in ("*", "null"):
                raise ValueError(f"{text!r} would allow any site: list each origin")
            if text:
                origins.add(parse_origin(text))
        return cls(frozenset(origins))

    def allows(self, origin: str) -> bool:
        """True for an `Origin` header naming an allowed origin exactly."""
        return origin in self.origins

    def refuses(self, origin: str | None, referer: str | None) -> bool:
        """The CSRF rule for one request, from its `Origin` and `Referer` headers."""
        if origin is not None:
            return not self.allows(origin)
        if referer is not None:
            return origin_of(referer) not in self.origins
        return False

    @property
    def all_https(self) -> bool:
        return all(origin.startswith("https://") for origin in self.origins)

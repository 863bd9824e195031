"""Result links are not trusted: a compromised or impersonated generator answer, or a wrong base URL, must not
make the bot read its own files or fetch its own network and upload the body to a user.

- ``file://`` links are read only when the in-process fake generator is wired, and only under the directory it
  writes to (``file_root``): never /proc/self/environ or the state file, whatever the link says.
- The bot fetches an ``http(s)`` link itself (HEAD for the size, GET to upload what Telegram could not fetch)
  only when every address its host resolves to is public: loopback, private, link-local, shared (CGNAT),
  multicast, unspecified and reserved addresses are refused. Redirects are followed by hand, at most
  ``max_redirects``, each hop checked the same way. Bodies are bounded in size, and in content type by the
  kind of result (an HTML page is never uploaded as a photo).
- Tests run fake servers on loopback: ``trusted_origins`` names exact origins (scheme, host, port) that are
  fetched without the address check (the setting KIE_TRUSTED_RESULT_ORIGINS). Never "any loopback".

Known limit: the address is checked on a resolution of our own and httpx resolves again when it connects, so
a DNS answer that changes between the two (rebinding) is not caught; the first line of defence stays that
links go to Telegram by URL first, and Telegram's servers fetch them, not ours.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from ports.effects import ResultKind

log = logging.getLogger(__name__)

Resolve = Callable[[str, int], Awaitable[list[str]]]
WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TYPES = {ResultKind.PHOTO: "image/", ResultKind.VIDEO: "video/", ResultKind.AUDIO: "audio/"}
_ANY_KIND_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})


class UnsafeLinkError(Exception):
    """The bot will not fetch this link itself."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        """The origin of an http(s) URL; ValueError for anything else."""
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in WEB_SCHEMES or not parts.hostname:
            raise ValueError(f"not an http(s) origin: {url!r}")
        return cls(scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme])


def parse_origins(text: str) -> frozenset[Origin]:
    """``"http://127.0.0.1:8080, https://cdn.example"`` → origins; an origin has no path, query or user."""
    found = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        parts = urlsplit(item)
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError(f"an origin is scheme://host[:port] only: {item!r}")
        found.add(Origin.of(item))
    return frozenset(found)


def public_address(address: str) -> bool:
    """True only for a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def content_type_fits(kind: ResultKind, content_type: str | None) -> bool:
    """May a body announced as ``content_type`` be uploaded as this kind of result?"""
    if content_type is None or content_type in _ANY_KIND_TYPES:
        return True
    prefix = _TYPES.get(kind)
    if prefix is not None:
        return content_type.startswith(prefix)
    return content_type not in ("text/html", "application/xhtml+xml")


class ResultLinks:
    def __init__(
        self,
        *,
        file_root: Path | None = None,
        trusted_origins: Iterable[Origin] = (),
        resolve: Resolve = system_resolve,
        max_redirects: int = 3,
    ) -> None:
        self._file_root = None if file_root is None else Path(file_root).resolve()
        self._trusted = frozenset(trusted_origins)
        self._resolve = resolve
        self._max_redirects = max_redirects

    @property
    def allow_files(self) -> bool:
        return self._file_root is not None

    def local_file(self, url: str) -> Path | None:
        """The path of a ``file://`` link when it may be read (under ``file_root``), else None."""
        if self._file_root is None:
            return None
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            return None
        path = Path(url2pathname(parts.path)).resolve()  # symlinks and ".." resolved before the check
        return path if path.is_relative_to(self._file_root) else None

    async def check(self, url: str) -> None:
        """Raise UnsafeLinkError unless the bot may fetch ``url`` itself."""
        try:
            origin = Origin.of(url)
        except ValueError:
            raise UnsafeLinkError("not an http(s) link") from None
        if origin in self._trusted:
            return
        try:
            addresses = await self._resolve(origin.host, origin.port)
        except (OSError, UnicodeError) as error:
            raise UnsafeLinkError(f"host does not resolve ({type(error).__name__})") from None
        if not addresses:
            raise UnsafeLinkError("host does not resolve")
        for address in addresses:
            try:
                public = public_address(address)
            except ValueError:
                public = False
            if not public:
                raise UnsafeLinkError("host resolves to a non-public address")

    async def fetchable(self, url: str) -> bool:
        try:
            await self.check(url)
        except UnsafeLinkError as error:
            log.warning("RESULT_LINK_NOT_FETCHED", extra={"reason": str(error)})
            return False
        return True

    @asynccontextmanager
    async def open(self, client: httpx.AsyncClient, method: str, url: str, timeout: httpx.Timeout
                   ) -> AsyncIterator[httpx.Response]:
        """The streamed answer to ``method url`` after at most ``max_redirects`` checked redirects.
        Raises UnsafeLinkError (a hop is not fetchable, or too many) and httpx.HTTPError."""
        for _ in range(self._max_redirects + 1):
            await self.check(url)
            request = client.build_request(method, url, timeout=timeout)
            response = await client.send(request, stream=True, follow_redirects=False)
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                await response.aclose()
                url = urljoin(url, location)
                continue
            try:
                yield response
            finally:
                await response.aclose()
            return
        raise UnsafeLinkError(f"more than {self._max_redirects} redirects")

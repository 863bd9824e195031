"""Files: the three upload endpoints of the upload host, the /files/… URLs of both hosts, download-url links.

Only files this fake handed out a URL for are ever served (a registry keyed by host and relative path), and
the resolved path must still lie inside ``files_dir``, so no request can reach anything else on disk.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from urllib.request import url2pathname

import aiohttp
from aiohttp import web

from adapters.kie.fake import FakeKieGateway
from adapters.kie.fake_server.models import (
    FIELD_REQUIRED,
    MAX_UPLOAD,
    TEMP_URL_SECONDS,
    UPLOADED,
    URL_FETCH_SECONDS,
    Served,
    iso_ms,
)
from ports.clock import Clock
from ports.generation import GatewayRejectedError

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"%PDF", "application/pdf"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
)


@dataclass(frozen=True)
class _Temporary:
    host: str
    relative: str
    expires: datetime


class FileEndpoints:
    """Mixin of FakeKieServer: uploads, file serving and the URL registry."""

    _clock: Clock
    _gateway: FakeKieGateway
    _files_dir: Path
    _served: dict[tuple[str, str], Served]
    _temporary: dict[str, _Temporary]
    _session: aiohttp.ClientSession | None
    url_ttl: float | None
    api_base_url: str
    upload_base_url: str

    # --- URLs ----------------------------------------------------------------------------------------------

    def _publish(self, file_url: str, host: str) -> str:
        """The http URL on ``host`` ("api" or "upload") for a file:// URL the gateway returned."""
        path = Path(url2pathname(urlsplit(file_url).path)).resolve()
        relative = path.relative_to(self._files_dir).as_posix()
        now = self._clock.now()
        expires = now + timedelta(seconds=self.url_ttl) if self.url_ttl else None
        self._served[(host, relative)] = Served(relative, now, expires)
        return f"{self._base(host)}/files/{quote(relative)}"

    def _base(self, host: str) -> str:
        return self.api_base_url if host == "api" else self.upload_base_url

    def _locate(self, url: str) -> tuple[str, str] | None:
        """(host, relative path) of a URL this fake handed out and still serves, else None."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        for host in ("api", "upload"):
            if origin == self._base(host) and parts.path.startswith("/files/"):
                relative = unquote(parts.path[len("/files/") :])
                if self._live(host, relative):
                    return host, relative
        if origin == self.api_base_url and parts.path.startswith("/tmp/"):
            token = parts.path.split("/")[2]
            temporary = self._temporary.get(token)
            if temporary is not None and self._clock.now() < temporary.expires:
                return temporary.host, temporary.relative
        return None

    def _live(self, host: str, relative: str) -> bool:
        served = self._served.get((host, relative))
        return served is not None and (served.expires is None or self._clock.now() < served.expires)

    def _temporary_url(self, url: str) -> str | None:
        """A 20-minute link for one of our file URLs (download-url, KIE_API.md §4.2); None for anything else."""
        found = self._locate(url)
        if found is None:
            return None
        token = secrets.token_urlsafe(12)
        self._temporary[token] = _Temporary(*found, self._clock.now() + timedelta(seconds=TEMP_URL_SECONDS))
        return f"{self.api_base_url}/tmp/{token}/{quote(PurePosixPath(found[1]).name)}"

    def _path(self, relative: str) -> Path:
        path = (self._files_dir / relative).resolve()
        if not path.is_relative_to(self._files_dir) or not path.is_file():
            raise web.HTTPNotFound(text="Not Found")
        return path

    def uploaded_bytes(self, url: str) -> bytes:
        """The bytes behind a URL this fake returned (an upload's downloadUrl, a result or temporary URL)."""
        found = self._locate(url)
        if found is None:
            raise KeyError(f"not a file URL of this fake KIE server: {url}")
        return self._path(found[1]).read_bytes()

    # --- serving -------------------------------------------------------------------------------------------

    def _file_handler(self, host: str):
        async def handler(request: web.Request) -> web.StreamResponse:
            relative = request.match_info["path"]
            if not self._live(host, relative):
                raise web.HTTPNotFound(text="Not Found")
            return web.FileResponse(self._path(relative))

        return handler

    async def _serve_temporary(self, request: web.Request) -> web.StreamResponse:
        found = self._locate(f"{self.api_base_url}/tmp/{request.match_info['token']}/")
        if found is None:
            raise web.HTTPNotFound(text="Not Found")
        return web.FileResponse(self._path(found[1]))

    # --- uploads (KIE_API.md §5) ---------------------------------------------------------------------------

    async def _stream_upload(self, request: web.Request, body: Any) -> web.Response:
        form = await request.post()  # already read (and cached) when the call was recorded
        part = form.get("file")
        if not isinstance(part, web.FileField):
            return _upload_error(FIELD_REQUIRED + ": file")
        data = part.file.read()
        name = _text(form.get("fileName")) or part.filename or ""
        return await self._store(data, name, part.content_type, _text(form.get("uploadPath")))

    async def _base64_upload(self, request: web.Request, body: Any) -> web.Response:
        if not isinstance(body, dict) or not isinstance(body.get("base64Data"), str) or not body["base64Data"]:
            return _upload_error(FIELD_REQUIRED + ": base64Data")
        raw, mime = body["base64Data"], ""
        if raw.startswith("data:") and "," in raw:
            header, raw = raw.split(",", 1)
            mime = header[len("data:") :].split(";")[0]
        try:
            data = base64.b64decode("".join(raw.split()), validate=True)
        except (binascii.Error, ValueError):
            return _upload_error("Invalid base64 data")
        return await self._store(data, _text(body.get("fileName")), mime, _text(body.get("uploadPath")))

    async def _url_upload(self, request: web.Request, body: Any) -> web.Response:
        url = body.get("fileUrl") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url:
            return _upload_error(FIELD_REQUIRED + ": fileUrl")
        if urlsplit(url).scheme not in ("http", "https") or self._session is None:
            return _upload_error("fileUrl must be a public http(s) URL")
        try:
            timeout = aiohttp.ClientTimeout(total=URL_FETCH_SECONDS)
            async with self._session.get(url, timeout=timeout, headers={"User-Agent": "KIE-Fetcher/1.0"}) as reply:
                if reply.status != 200:
                    return _upload_error(f"File download failed: HTTP {reply.status}")
                data = bytearray()
                async for chunk in reply.content.iter_chunked(64 * 1024):
                    data.extend(chunk)
                    if len(data) > MAX_UPLOAD:
                        return _upload_error("File download failed: the file is larger than 100 MB")
                mime = reply.headers.get("Content-Type", "").split(";")[0].strip()
        except (aiohttp.ClientError, TimeoutError) as error:
            return _upload_error(f"File download failed: {type(error).__name__}")
        name = _text(body.get("fileName")) or PurePosixPath(urlsplit(url).path).name
        return await self._store(bytes(data), name, mime, _text(body.get("uploadPath")))

    async def _store(self, data: bytes, file_name: str, mime: str, upload_path: str) -> web.Response:
        if not data:
            return _upload_error("File is empty")
        mime = _mime(data, file_name, mime)
        name = PurePosixPath(file_name.replace("\\", "/")).name if file_name else ""
        name = name or f"{secrets.token_hex(8)}{mimetypes.guess_extension(mime) or '.bin'}"
        try:
            file_url = await self._gateway.upload(data, name, mime)
        except GatewayRejectedError as error:
            return _upload_error(str(error))
        folder = upload_path.strip("/")
        return web.json_response({
            "success": True,
            "code": 200,
            "msg": UPLOADED,
            "data": {
                "fileName": name,
                "filePath": f"{folder}/{name}" if folder else name,
                "downloadUrl": self._publish(file_url, "upload"),
                "fileSize": len(data),
                "mimeType": mime,
                "uploadedAt": iso_ms(self._clock.now()),
            },
        })


def _upload_error(msg: str, code: int = 400) -> web.Response:
    return web.json_response({"success": False, "code": code, "msg": msg, "data": None})


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mime(data: bytes, file_name: str, declared: str) -> str:
    if declared and declared != "application/octet-stream":
        return declared
    guessed = mimetypes.guess_type(file_name)[0] if file_name else None
    if guessed:
        return guessed
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] in (b"WAVE", b"WEBP"):
        return "audio/wav" if data[8:12] == b"WAVE" else "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"

"""Files: what comes in (the bot's uploads, the users' photos and documents) and what goes out.

Uploads are checked as Telegram checks them (sizes, image types and proportions) before anything
is stored, so a refused call leaves nothing behind. Stored files are served the way Telegram
serves them: ``getFile`` gives a path for ``GET /file/bot<token>/<file_path>``, which is what
PTB's ``File.download_*`` fetch; the chat page and tests fetch them by file_id under
``/sandbox/files/``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import quote

from aiohttp import hdrs, web

from sandbox.media import (
    FileLimits,
    FileStore,
    NewFile,
    StoredFile,
    Upload,
    guess_mime_type,
    is_mime_type,
    sniff_image,
)
from sandbox.protocol import (
    TOO_LARGE,
    ApiError,
    Handler,
    Params,
    SandboxError,
    bad,
    client_error,
    json_response,
)

__all__ = ["Files", "file_name", "size_text"]

# Telegram refuses photos whose width + height exceeds this, or whose sides differ over 20-fold.
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_RATIO = 20

WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"


class Files:
    """The sandbox's files: upload checks, the store, getFile and the download routes.

    Args:
        token: the bot token that download paths must carry.
        limits: size limits for uploads and downloads.
        counters: the sandbox's statistics, counted into.
    """

    def __init__(self, token: str, limits: FileLimits, counters: Counter[str]) -> None:
        self._token = token
        self.limits = limits
        self._counters = counters
        self.store = FileStore()
        # Room for the largest upload plus the other form fields; bigger bodies get 413 before
        # they are read.
        self.max_body = max(limits.photo, limits.document) + 1024**2

    def methods(self) -> dict[str, Handler]:
        return {"getFile": self._get_file}

    # --- from the bot -------------------------------------------------------------------------

    def from_param(self, p: Params, kind: str) -> StoredFile | NewFile:
        """The ``photo``/``document`` field: an upload, an ``attach://`` name of one, or the
        file_id of a stored file of the same kind. An upload is checked, not stored yet."""
        value = p.raw(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = p.raw(value[len("attach://") :])
            if not isinstance(value, Upload):
                raise bad(f"there is no {kind} in the request")
        if isinstance(value, Upload):
            return self._check_upload(value, kind)
        if value is None or value == "":
            raise bad(f"there is no {kind} in the request")
        if not isinstance(value, str):
            raise bad(f'field "{kind}" must be of type String')
        if value.startswith(("http://", "https://")):
            # Telegram would fetch the URL; the sandbox never leaves the machine.
            raise bad("failed to get HTTP URL content")
        stored = self.store.get(value.strip())
        if stored is None:
            raise ApiError(400, WRONG_FILE)
        if stored.kind != kind:
            raise bad("type of file mismatch")
        return stored

    def _check_upload(self, upload: Upload, kind: str) -> NewFile:
        data = upload.data
        if not data:
            raise bad("file must be non-empty")
        if kind == "document":
            if len(data) > self.limits.document:
                raise ApiError(413, TOO_LARGE)
            name = file_name(upload.filename)
            mime = guess_mime_type(name, upload.content_type, data)
            return NewFile("document", data, mime, file_name=name)
        if len(data) > self.limits.photo:
            raise bad("PHOTO_SAVE_FILE_INVALID")
        image = sniff_image(data)
        if image is None:
            raise bad("IMAGE_PROCESS_FAILED")
        long_side, short_side = max(image.width, image.height), min(image.width, image.height)
        if image.width + image.height > MAX_PHOTO_SIDES or long_side > MAX_PHOTO_RATIO * short_side:
            raise bad("PHOTO_INVALID_DIMENSIONS")
        return NewFile("photo", data, image.mime_type, width=image.width, height=image.height)

    def keep(self, source: StoredFile | NewFile) -> StoredFile:
        """A checked upload stored (once the message that carries it is certain to go)."""
        return self.store.add(source) if isinstance(source, NewFile) else source

    async def _get_file(self, p: Params) -> Any:
        stored = self.store.get((p.get_str("file_id") or "").strip())
        if stored is None:
            raise bad("invalid file_id")
        if stored.file_size > self.limits.download:
            raise bad("file is too big")
        return stored.file()

    # --- from users ---------------------------------------------------------------------------

    def add_user_photo(self, data: Any) -> StoredFile:
        """A user's photo: PNG, JPEG, GIF or WebP bytes within the photo size limit."""
        data = _user_bytes(
            data,
            "photo",
            self.limits.photo,
            "The photo is too large: a photo may have at most {limit}. Send a smaller one, or "
            "send it as a file.",
        )
        image = sniff_image(data)
        if image is None:
            raise SandboxError(
                400,
                "This file is not a picture that can be sent as a photo (a PNG, JPEG, GIF or "
                "WebP image); send it as a file instead.",
            )
        new = NewFile("photo", data, image.mime_type, width=image.width, height=image.height)
        return self.store.add(new)

    def add_user_document(self, data: Any, filename: str, mime_type: str | None) -> StoredFile:
        """A user's document, its MIME type guessed from ``filename`` when not given. Users may
        send files bigger than the bot's download limit, as in Telegram, up to the upload
        limit."""
        data = _user_bytes(
            data,
            "document",
            self.limits.document,
            "The file is too large: a file may have at most {limit}.",
        )
        name = file_name(filename) or "file"
        mime = mime_type.strip().lower() if mime_type else guess_mime_type(name, None, data)
        if not is_mime_type(mime):
            raise SandboxError(
                400, "The file's type (mime_type) must look like type/subtype, e.g. text/plain."
            )
        return self.store.add(NewFile("document", data, mime, file_name=name))

    # --- serving ------------------------------------------------------------------------------

    def content(self, file_id: str) -> StoredFile:
        """A stored file (sent by the bot or by a user) by its file_id."""
        stored = self.store.get(file_id)
        if stored is None:
            raise SandboxError(404, f"The sandbox has no file {file_id!r}.")
        return stored

    async def handle_bot_download(self, request: web.Request) -> web.StreamResponse:
        """``GET /file/bot<token>/<file_path>``: what PTB's ``File.download_*`` fetch."""
        if request.match_info["token"] != self._token:
            return json_response(ApiError(401, "Unauthorized").payload(), 401)
        stored = self.store.by_path(request.match_info["file_path"])
        if stored is None:
            return json_response(ApiError(404, "Not Found").payload(), 404)
        self._counters["file_downloads"] += 1
        return _file_response(stored, inline=False)

    async def handle_client_download(self, request: web.Request) -> web.StreamResponse:
        """``GET /sandbox/files/<file_id>`` for the chat page and tests: images inline, others
        as attachments so that a document the bot sent never runs as a page of the sandbox."""
        try:
            stored = self.content(request.match_info["file_id"])
        except SandboxError as error:
            return client_error(error)
        return _file_response(stored, inline=stored.kind == "photo")


def file_name(filename: str | None) -> str | None:
    """The last component of an uploaded file's name, as Telegram keeps it (None if empty)."""
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255] or None


def size_text(limit: int) -> str:
    """A size limit as people read it: "10 MB" for whole megabytes, bytes otherwise."""
    mb = 1024 * 1024
    return f"{limit // mb} MB" if limit % mb == 0 else f"{limit} bytes"


def _user_bytes(data: Any, kind: str, limit: int, too_large: str) -> bytes:
    """A user's upload as bytes, refused when empty or over ``limit`` (``too_large`` says so,
    with the limit in place of ``{limit}``)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SandboxError(400, f"the {kind} must be bytes")
    if not data:
        raise SandboxError(400, f"The {kind} is empty (0 bytes); choose another file.")
    if len(data) > limit:
        raise SandboxError(413, too_large.format(limit=size_text(limit)))
    return bytes(data)


def _file_response(stored: StoredFile, inline: bool) -> web.Response:
    response = web.Response(body=stored.data, content_type=stored.mime_type)
    # The type is the sandbox's to say: never let a browser guess its way to HTML.
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not inline:
        name = stored.file_name or stored.file_path.rsplit("/", 1)[-1]
        response.headers[hdrs.CONTENT_DISPOSITION] = (
            f"attachment; filename*=UTF-8''{quote(name, safe='')}"
        )
    return response

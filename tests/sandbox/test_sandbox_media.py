"""Photos, documents and locations: bot uploads, getFile and downloads, user media, bad input."""

from __future__ import annotations

import datetime as dtm
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MessageOriginHiddenUser
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from sandbox import BotApiSandbox, FileLimits, RateLimit, SandboxClient, SandboxError, png_bytes
from sandbox.media import guess_mime_type, sniff_image
from sandbox.ratelimit import ManualClock

SandboxFactory = Callable[..., Awaitable[BotApiSandbox]]
MB = 1024 * 1024


def pillow_image(fmt: str, size: tuple[int, int] = (40, 30), **save: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt, **save)
    return buffer.getvalue()


def keyboard(text: str, data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data)]])


async def raw_call(
    http: aiohttp.ClientSession, sandbox: BotApiSandbox, method: str, form: aiohttp.FormData
) -> tuple[int, dict[str, Any]]:
    async with http.post(f"{sandbox.api_url}{sandbox.token}/{method}", data=form) as response:
        return response.status, await response.json()


def photo_form(chat_id: int, data: bytes, **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("chat_id", str(chat_id))
    for name, value in fields.items():
        form.add_field(name, value)
    # A stream, not bytes: aiohttp warns about large bytes bodies (an error under pytest here).
    form.add_field("photo", io.BytesIO(data), filename="photo.png", content_type="image/png")
    return form


# --- image headers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mime", "save"),
    [
        ("PNG", "image/png", {}),
        ("JPEG", "image/jpeg", {}),
        ("JPEG", "image/jpeg", {"progressive": True}),
        ("GIF", "image/gif", {}),
        ("WEBP", "image/webp", {}),
        ("WEBP", "image/webp", {"lossless": True}),
    ],
)
def test_sniff_image_reads_type_and_size(fmt: str, mime: str, save: dict[str, Any]) -> None:
    info = sniff_image(pillow_image(fmt, (321, 123), **save))
    assert info is not None
    assert (info.mime_type, info.width, info.height) == (mime, 321, 123)


def test_sniff_image_refuses_non_images_and_truncated_ones() -> None:
    png = png_bytes(5, 7)
    assert sniff_image(png) is not None
    assert sniff_image(b"hello, world") is None
    assert sniff_image(b"") is None
    assert sniff_image(png[:20]) is None  # the signature alone is not an image
    assert sniff_image(pillow_image("JPEG")[:30]) is None
    assert sniff_image(b"%PDF-1.7\n") is None


def test_png_bytes_is_a_real_png() -> None:
    with Image.open(io.BytesIO(png_bytes(17, 9, (1, 2, 3)))) as image:
        assert image.size == (17, 9)
        assert image.getpixel((16, 8)) == (1, 2, 3)
    with pytest.raises(ValueError, match="between 1 and 10000"):
        png_bytes(0, 1)


def test_guess_mime_type_prefers_the_name() -> None:
    assert guess_mime_type("report.pdf", "application/octet-stream", b"x") == "application/pdf"
    assert guess_mime_type("noext", "text/csv; charset=utf-8", b"x") == "text/csv"
    assert guess_mime_type("noext", None, png_bytes()) == "image/png"
    assert guess_mime_type(None, "not a type", b"x") == "application/octet-stream"


# --- bot to user -------------------------------------------------------------------------------


async def test_ptb_sends_a_photo_from_bytes_and_the_user_downloads_it(
    bot: Bot, client: SandboxClient, tmp_path: Path
) -> None:
    alice = await client.user(1001, "Alice")
    png = png_bytes(64, 48)
    sent = await bot.send_photo(
        1001,
        png,
        caption="<b>Scan</b> this QR code",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard("Done", "qr:done"),
    )
    assert sent.text is None and sent.caption == "Scan this QR code"
    assert [(e.type, e.offset, e.length) for e in sent.caption_entities] == [("bold", 0, 4)]
    [size] = sent.photo
    assert (size.width, size.height, size.file_size) == (64, 48, len(png))
    assert size.file_id and size.file_unique_id and size.file_id != size.file_unique_id
    assert sent.reply_markup is not None

    seen = await alice.wait_for_message("QR code")  # captions match like texts
    assert seen.message_id == sent.message_id
    assert seen.text == "" and seen.caption == "Scan this QR code"
    assert seen.caption_entities == [{"type": "bold", "offset": 0, "length": 4}]
    assert [(p.file_id, p.width, p.height) for p in seen.photo] == [(size.file_id, 64, 48)]
    assert seen.document is None and seen.location is None
    assert seen.buttons == [[("Done", "qr:done")]]
    assert seen.file_id == size.file_id
    assert await alice.download(seen) == png
    assert await alice.download(size.file_id) == png
    assert [m.message_id for m in await alice.bot_messages()] == [sent.message_id]

    # The bot can fetch its own upload back the way PTB downloads anything.
    file = await bot.get_file(size.file_id)
    assert file.file_size == len(png) and file.file_unique_id == size.file_unique_id
    assert bytes(await file.download_as_bytearray()) == png
    target = await file.download_to_drive(tmp_path / "qr.png")
    assert target.read_bytes() == png


async def test_ptb_sends_a_document(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    csv = b"unit,csat\nNorth,0.82\n"
    sent = await bot.send_document(1001, csv, filename="results.csv", caption="Results")
    document = sent.document
    assert document is not None
    assert (document.file_name, document.mime_type, document.file_size) == (
        "results.csv",
        "text/csv",
        len(csv),
    )
    assert sent.caption == "Results" and not sent.photo

    seen = await alice.wait_for_message()
    assert seen.document is not None and seen.document.file_id == document.file_id
    assert seen.document.file_name == "results.csv" and seen.document.mime_type == "text/csv"
    assert seen.photo == [] and seen.caption == "Results"
    assert await alice.download(seen) == csv
    file = await bot.get_file(document.file_id)
    assert file.file_path is not None and file.file_path.endswith(".csv")
    assert bytes(await file.download_as_bytearray()) == csv

    # Bytes without a name: PTB names the upload after its MIME type, as Telegram then shows.
    anonymous = await bot.send_document(1001, b"\x00\x01")
    assert anonymous.document is not None
    assert anonymous.document.mime_type == "application/octet-stream"


async def test_resend_by_file_id(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    png = pillow_image("JPEG", (80, 60))
    first = await bot.send_photo(1001, png)
    again = await bot.send_photo(1001, first.photo[-1].file_id, caption="again")
    assert again.photo[-1].file_unique_id == first.photo[-1].file_unique_id
    assert (again.photo[-1].width, again.photo[-1].height) == (80, 60)
    doc = await bot.send_document(1001, b"abc", filename="a.txt")
    assert doc.document is not None
    doc_again = await bot.send_document(1001, doc.document.file_id)
    assert doc_again.document is not None
    assert doc_again.document.file_unique_id == doc.document.file_unique_id
    with pytest.raises(BadRequest, match="Type of file mismatch"):
        await bot.send_photo(1001, doc.document.file_id)
    with pytest.raises(BadRequest, match="Type of file mismatch"):
        await bot.send_document(1001, first.photo[-1].file_id)
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await bot.send_photo(1001, "AgACnot-a-real-file-id")
    with pytest.raises(BadRequest, match="Failed to get http url content"):
        await bot.send_photo(1001, "https://example.org/qr.png")
    assert [m.caption for m in await alice.bot_messages()] == [None, "again", None, None]
    stats = await client.stats()
    assert stats["files_stored"] == 2


async def test_caption_limits(bot: Bot, client: SandboxClient) -> None:
    await client.user(1001)
    png = png_bytes()
    await bot.send_photo(1001, png, caption="x" * 1024)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(1001, png, caption="x" * 1025)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(1001, b"doc", filename="d.txt", caption="y" * 1025)
    # The limit counts the caption after entity parsing, as for texts.
    tagged = await bot.send_photo(
        1001, png, caption="<b>" + "&amp;" * 1024 + "</b>", parse_mode=ParseMode.HTML
    )
    assert tagged.caption == "&" * 1024
    with pytest.raises(BadRequest, match=r"(?i)can't find end tag"):
        await bot.send_photo(1001, png, caption="<b>open", parse_mode=ParseMode.HTML)
    # An empty caption is no caption, not an error.
    blank = await bot.send_photo(1001, png, caption="<i></i>", parse_mode=ParseMode.HTML)
    assert blank.caption is None


async def test_caption_too_long_has_telegrams_wording(
    sandbox: BotApiSandbox, client: SandboxClient, http: aiohttp.ClientSession
) -> None:
    await client.user(1001)
    status, body = await raw_call(
        http, sandbox, "sendPhoto", photo_form(1001, png_bytes(), caption="z" * 1025)
    )
    assert (status, body) == (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: message caption is too long"},
    )


async def test_a_photo_must_be_an_image(
    bot: Bot,
    sandbox: BotApiSandbox,
    client: SandboxClient,
    http: aiohttp.ClientSession,
) -> None:
    alice = await client.user(1001)
    with pytest.raises(BadRequest, match="Image_process_failed"):
        await bot.send_photo(1001, b"%PDF-1.7 not an image")
    status, body = await raw_call(http, sandbox, "sendPhoto", photo_form(1001, b"GIF89a"))
    assert (status, body["description"]) == (400, "Bad Request: IMAGE_PROCESS_FAILED")
    with pytest.raises(BadRequest, match="File must be non-empty"):
        await bot.send_photo(1001, b"")
    with pytest.raises(BadRequest, match="Photo_invalid_dimensions"):
        await bot.send_photo(1001, png_bytes(2100, 100))  # sides differ over 20-fold
    # Sent as a document, the same bytes are fine.
    await bot.send_document(1001, b"%PDF-1.7 not an image", filename="memo.pdf")
    assert [m.document.mime_type for m in await alice.bot_messages() if m.document] == [
        "application/pdf"
    ]
    assert (await client.stats())["files_stored"] == 1


async def test_photo_size_limit_is_telegrams(
    bot: Bot, sandbox: BotApiSandbox, client: SandboxClient, http: aiohttp.ClientSession
) -> None:
    await client.user(1001)
    png = png_bytes(10, 10)
    # Bytes after the image's end do not stop it being an image: pad to the exact limit.
    at_limit = png + bytes(10 * MB - len(png))
    sent = await bot.send_photo(1001, at_limit)
    assert sent.photo[-1].file_size == 10 * MB
    status, body = await raw_call(http, sandbox, "sendPhoto", photo_form(1001, at_limit + b"\0"))
    assert (status, body["description"]) == (400, "Bad Request: PHOTO_SAVE_FILE_INVALID")


async def test_document_size_limit_is_413(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    limits = FileLimits(photo=1000, document=2000, download=500)
    sandbox = await make_sandbox(global_limit=None, chat_limit=None, file_limits=limits)
    sandbox.add_user(1001)
    async with Bot(sandbox.token, base_url=sandbox.api_url) as bot:
        await bot.send_document(1001, bytes(2000), filename="ok.bin")
        # Telegram's front end answers 413; PTB turns that into a NetworkError.
        with pytest.raises(NetworkError, match="Request Entity Too Large"):
            await bot.send_document(1001, bytes(2001), filename="big.bin")
        form = aiohttp.FormData()
        form.add_field("chat_id", "1001")
        form.add_field("document", bytes(2001), filename="big.bin")
        status, body = await raw_call(http, sandbox, "sendDocument", form)
        assert (status, body) == (
            413,
            {"ok": False, "error_code": 413, "description": "Request Entity Too Large"},
        )
        with pytest.raises(BadRequest, match="Photo_save_file_invalid"):
            await bot.send_photo(1001, png_bytes() + bytes(1000))
        # A body past what the server reads at all (the largest file plus 1 MB) is 413 too.
        with pytest.raises(NetworkError, match="Request Entity Too Large"):
            await bot.send_document(1001, bytes(2 * MB), filename="huge.bin")
        # getFile refuses files above the download limit, as Telegram does above 20 MB.
        stored = sandbox.send_user_document(1001, bytes(600), "scan.bin")
        with pytest.raises(BadRequest, match="File is too big"):
            await bot.get_file(stored["file_id"])
    assert sandbox.stats()["files_stored"] == 2


async def test_photo_to_a_user_who_blocked_the_bot_is_403(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    await alice.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_photo(1001, png_bytes())
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_document(1001, b"doc", filename="d.txt")
    stats = await client.stats()
    assert (stats["responses_403"], stats["files_stored"], stats["messages_sent"]) == (2, 0, 0)
    assert await alice.bot_messages() == []
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_photo(777, png_bytes())


async def test_media_sends_share_the_flood_limits(
    make_sandbox: SandboxFactory, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # read RetryAfter as a timedelta (see limits)
    sandbox = await make_sandbox(
        global_limit=None, chat_limit=RateLimit(rate=1, burst=2), clock=clock
    )
    sandbox.add_user(1001)
    async with Bot(sandbox.token, base_url=sandbox.api_url) as bot:
        await bot.send_message(1001, "text")
        await bot.send_photo(1001, png_bytes())
        with pytest.raises(RetryAfter) as caught:
            await bot.send_document(1001, b"doc", filename="d.txt")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        with pytest.raises(RetryAfter):
            await bot.send_message(1001, "text")
        clock.advance(1.0)
        await bot.send_document(1001, b"doc", filename="d.txt")
    stats = sandbox.stats()
    assert (stats["responses_429"], stats["messages_sent"], stats["files_stored"]) == (2, 3, 2)


async def test_caption_and_markup_edits_on_media(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    sent = await bot.send_photo(
        1001, png_bytes(), caption="Before", reply_markup=keyboard("A", "a")
    )
    await alice.wait_for_message("Before")
    with pytest.raises(BadRequest, match="There is no text in the message to edit"):
        await bot.edit_message_text("text", 1001, sent.message_id)
    edited = await bot.edit_message_caption(
        1001, sent.message_id, caption="<i>After</i>", parse_mode=ParseMode.HTML
    )
    assert not isinstance(edited, bool)
    assert edited.caption == "After" and edited.photo[-1].file_id == sent.photo[-1].file_id
    seen = await alice.wait_for_message()
    assert (seen.caption, seen.edit_count, seen.buttons) == ("After", 1, [])
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_caption(
            1001, sent.message_id, caption="<i>After</i>", parse_mode=ParseMode.HTML
        )
    await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=keyboard("B", "b"))
    seen = await alice.wait_for_message()
    assert seen.buttons == [[("B", "b")]] and seen.caption == "After" and seen.photo
    text = await bot.send_message(1001, "plain")
    with pytest.raises(BadRequest, match="There is no caption in the message to edit"):
        await bot.edit_message_caption(1001, text.message_id, caption="x")


async def test_raw_uploads_attach_and_missing_fields(
    sandbox: BotApiSandbox, client: SandboxClient, http: aiohttp.ClientSession
) -> None:
    alice = await client.user(1001)
    png = png_bytes(3, 3)
    form = aiohttp.FormData()
    form.add_field("chat_id", "1001")
    form.add_field("photo", "attach://evidence")
    form.add_field("evidence", png, filename="e.png")
    status, body = await raw_call(http, sandbox, "sendPhoto", form)
    assert status == 200, body
    assert body["result"]["photo"][0]["width"] == 3

    form = aiohttp.FormData()
    form.add_field("chat_id", "1001")
    form.add_field("caption", "no file")
    form.add_field("other", b"x", filename="x.bin")
    status, body = await raw_call(http, sandbox, "sendPhoto", form)
    assert (status, body["description"]) == (400, "Bad Request: there is no photo in the request")

    # A JSON body can only name a stored file by its id.
    file_id = body_file_id = (await alice.bot_messages())[0].file_id
    assert file_id is not None
    url = f"{sandbox.api_url}{sandbox.token}/sendPhoto"
    async with http.post(url, json={"chat_id": 1001, "photo": body_file_id}) as response:
        assert response.status == 200
        assert (await response.json())["result"]["photo"][0]["file_id"] == file_id


async def test_get_file_and_download_errors(
    bot: Bot, sandbox: BotApiSandbox, client: SandboxClient, http: aiohttp.ClientSession
) -> None:
    alice = await client.user(1001)
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("AgACunknown")
    async with http.post(f"{sandbox.api_url}{sandbox.token}/getFile", json={}) as response:
        assert response.status == 400
        assert (await response.json())["description"] == "Bad Request: invalid file_id"
    async with http.get(f"{sandbox.file_url}{sandbox.token}/photos/file_99.png") as response:
        assert response.status == 404
        assert (await response.json())["error_code"] == 404
    sent = await bot.send_photo(1001, png_bytes())
    file = await bot.get_file(sent.photo[-1].file_id)
    assert file.file_path is not None
    path = file.file_path.rsplit("/bot", 1)[1].split("/", 1)[1]
    async with http.get(f"{sandbox.file_url}123456:wrong/{path}") as response:
        assert response.status == 401
    with pytest.raises(SandboxError) as caught:
        await alice.download("AgACunknown")
    assert caught.value.status == 404
    text = await bot.send_message(1001, "no file here")
    seen = await alice.wait_for_message("no file here")
    assert seen.message_id == text.message_id and seen.file_id is None
    with pytest.raises(ValueError, match="has no photo or document"):
        await alice.download(seen)


async def test_documents_download_as_attachments(
    bot: Bot, sandbox: BotApiSandbox, client: SandboxClient, http: aiohttp.ClientSession
) -> None:
    await client.user(1001)
    page = b"<script>alert(1)</script>"
    sent = await bot.send_document(1001, page, filename="page.html")
    assert sent.document is not None and sent.document.mime_type == "text/html"
    async with http.get(f"{sandbox.base_url}/sandbox/files/{sent.document.file_id}") as response:
        assert response.headers["Content-Disposition"] == "attachment; filename*=UTF-8''page.html"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert await response.read() == page
    photo = await bot.send_photo(1001, png_bytes())
    async with http.get(f"{sandbox.base_url}/sandbox/files/{photo.photo[-1].file_id}") as response:
        assert response.content_type == "image/png"
        assert "Content-Disposition" not in response.headers


async def test_timeout_transcripts_show_media(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    await bot.send_photo(1001, png_bytes(64, 48), caption="QR")
    await bot.send_document(1001, b"abc", filename="a.txt")
    with pytest.raises(AssertionError) as caught:
        await alice.wait_for_message("nothing like this", timeout=0.2)
    text = str(caught.value)
    assert "[photo 64x48, " in text and "'QR'" in text
    assert "[document 'a.txt', 3 B]" in text


# --- user to bot -------------------------------------------------------------------------------


async def test_user_photo_is_downloaded_by_ptb(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001, "Alice")
    jpeg = pillow_image("JPEG", (120, 90))
    sent = await alice.send_photo(jpeg, caption="Pothole fixed")
    assert sent.file_id is not None

    [update] = await bot.get_updates(timeout=0)
    assert update.update_id == sent.update_id
    message = update.message
    assert message is not None and message.from_user is not None
    assert message.from_user.id == 1001 and message.text is None
    assert message.caption == "Pothole fixed"
    largest = message.photo[-1]
    assert (largest.width, largest.height, largest.file_size) == (120, 90, len(jpeg))
    assert largest.file_id == sent.file_id
    file = await bot.get_file(largest.file_id)
    assert bytes(await file.download_as_bytearray()) == jpeg

    # The user's own view of the chat shows the photo too.
    [mine] = [e.message for e in await alice.chat() if e.message is not None]
    assert not mine.from_bot and mine.caption == "Pothole fixed" and mine.file_id == sent.file_id
    assert await alice.download(sent.file_id) == jpeg
    # The bot may pass the user's photo on by its file_id.
    forwarded = await bot.send_photo(1001, largest.file_id)
    assert forwarded.photo[-1].file_unique_id == largest.file_unique_id


async def test_user_document_and_location_reach_the_bot(bot: Bot, client: SandboxClient) -> None:
    alice = await client.user(1001)
    report = b"%PDF-1.4 inspection"
    doc = await alice.send_document(report, "inspection.pdf", caption="Signed")
    csv = await alice.send_document(b"a,b\n", "data.bin", mime_type="text/csv")
    where = await alice.send_location(31.2304, 121.4737)
    assert where.file_id is None

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [doc.update_id, csv.update_id, where.update_id]
    first, second, third = (u.message for u in updates)
    assert first is not None and first.document is not None
    assert (first.document.file_name, first.document.mime_type) == (
        "inspection.pdf",
        "application/pdf",
    )
    assert first.caption == "Signed"
    file = await bot.get_file(first.document.file_id)
    assert bytes(await file.download_as_bytearray()) == report
    assert second is not None and second.document is not None
    assert second.document.mime_type == "text/csv"
    assert third is not None and third.location is not None
    assert (third.location.latitude, third.location.longitude) == (31.2304, 121.4737)
    assert third.text is None and third.caption is None

    events = [e.message for e in await alice.chat() if e.message is not None]
    assert events[2] is not None and events[2].location is not None
    assert events[2].location.latitude == 31.2304


async def test_user_media_can_arrive_forwarded(bot: Bot, client: SandboxClient) -> None:
    """``forwarded_from`` gives the message a Bot API ``forward_origin`` (a hidden user), as a
    photo, document or location forwarded from someone else's chat has."""
    alice = await client.user(1001)
    photo = await alice.send_photo(png_bytes(), caption="Old photo", forwarded_from="Bob")
    doc = await alice.send_document(png_bytes(), "scan.png", forwarded_from="Bob")
    where = await alice.send_location(31.2, 121.4, forwarded_from="Bob")
    own = await alice.send_location(31.2, 121.4)
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [photo.update_id, doc.update_id, where.update_id,
                                              own.update_id]
    messages = [u.message for u in updates]
    for message in messages[:3]:
        assert message is not None
        origin = message.forward_origin
        assert isinstance(origin, MessageOriginHiddenUser)
        assert origin.sender_user_name == "Bob"
    assert messages[0] is not None and messages[0].caption == "Old photo"
    assert messages[0].photo and messages[1] is not None and messages[1].document is not None
    assert messages[2] is not None and messages[2].location is not None
    assert messages[3] is not None and messages[3].forward_origin is None
    views = [e.message for e in await alice.chat() if e.message is not None]
    assert [view.forwarded_from for view in views] == ["Bob", "Bob", "Bob", None]
    with pytest.raises(SandboxError) as caught:
        await alice.send_location(0, 0, forwarded_from=" ")
    assert caught.value.status == 400 and "forwarded_from" in caught.value.message


async def test_user_media_bad_input(
    make_sandbox: SandboxFactory, http: aiohttp.ClientSession
) -> None:
    sandbox = await make_sandbox(
        global_limit=None,
        chat_limit=None,
        file_limits=FileLimits(photo=1000, document=2000, download=2000),
    )
    async with SandboxClient(sandbox.base_url) as client:
        alice = await client.user(1001)
        for call, status, message in [
            (alice.send_photo(b"not an image"), 400, "PNG, JPEG, GIF or WebP"),
            (alice.send_photo(png_bytes() + bytes(1000)), 413, "at most 1000 bytes"),
            (alice.send_photo(b""), 400, "empty"),
            (alice.send_document(bytes(2001), "big.bin"), 413, "at most 2000 bytes"),
            (alice.send_document(b"x", "x.txt", mime_type="nonsense"), 400, "type/subtype"),
            (alice.send_location(91, 0), 400, "latitude"),
            (alice.send_location(0, -180.5), 400, "longitude"),
        ]:
            with pytest.raises(SandboxError) as caught:
                await call
            assert caught.value.status == status, caught.value
            assert message in caught.value.message
        url = f"{sandbox.base_url}/sandbox/users/1001/photos"
        async with http.post(url, json={"photo": "x"}) as response:
            assert response.status == 400
            assert "multipart/form-data" in (await response.json())["error"]
        form = aiohttp.FormData()
        form.add_field("caption", "no file")
        form.add_field("x", b"x", filename="x")
        async with http.post(url, data=form) as response:
            assert response.status == 400
            assert "'photo'" in (await response.json())["error"]
        async with http.post(
            f"{sandbox.base_url}/sandbox/users/1001/locations", json={"latitude": "north"}
        ) as response:
            assert response.status == 400
        with pytest.raises(SandboxError) as caught:
            await client.request("POST", "/sandbox/users/5/locations", json={"latitude": 1})
        assert caught.value.status == 404
        # Nothing refused reached the bot or the file store.
        stats = sandbox.stats()
        assert (stats["updates_created"], stats["files_stored"]) == (0, 0)

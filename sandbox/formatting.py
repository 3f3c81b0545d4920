"""Telegram's text formatting: HTML, MarkdownV2 and legacy Markdown to plain text plus entities.

The parsers follow tdlib's (``MessageEntity.cpp``) closely enough to give the same error texts
for the mistakes bots really make (an unescaped ``<`` or ``.``, an unclosed tag), because those
errors only show up in production otherwise. Entity offsets and lengths are in UTF-16 code units,
as in the Bot API; error offsets are in UTF-8 bytes, as in Telegram's messages.
"""

from __future__ import annotations

import re
from typing import Any

Entity = dict[str, Any]

_PREFIX = "Bad Request: can't parse entities: "


class EntityParseError(ValueError):
    """The text does not parse; ``str(error)`` is Telegram's full error description."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (characters outside the BMP count twice)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _fail(message: str) -> EntityParseError:
    return EntityParseError(_PREFIX + message)


def _entity(kind: str, offset: int, length: int, **extra: Any) -> Entity:
    entity: Entity = {"type": kind, "offset": offset, "length": length}
    entity.update(extra)
    return entity


def _sorted(entities: list[Entity]) -> list[Entity]:
    # Telegram returns entities ordered by offset, enclosing ones first.
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


# --- HTML --------------------------------------------------------------------------------------

_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot);|#(\d{1,7});|#[xX]([0-9a-fA-F]{1,6});)")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ATTR = re.compile(
    r"""\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?"""
)
_HTML_SPECIAL = re.compile(r"[<&]")


class _Frame:
    __slots__ = ("attrs", "language", "offset", "tag")

    def __init__(self, tag: str, attrs: dict[str, str], offset: int) -> None:
        self.tag = tag
        self.attrs = attrs
        self.offset = offset
        self.language: str | None = None


def parse_html(src: str) -> tuple[str, list[Entity]]:
    """Parse Telegram's HTML subset; raises :class:`EntityParseError` like Telegram does."""
    out: list[str] = []
    offset = 0
    stack: list[_Frame] = []
    entities: list[Entity] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c != "<" and c != "&":
            match = _HTML_SPECIAL.search(src, i)
            j = match.start() if match else n
            chunk = src[i:j]
            out.append(chunk)
            offset += utf16_len(chunk)
            i = j
            continue
        if c == "&":
            char, i = _html_char_ref(src, i)
            out.append(char)
            offset += utf16_len(char)
            continue
        if i + 1 >= n or src[i + 1] != "/":
            tag, attrs, i = _html_start_tag(src, i)
            stack.append(_Frame(tag, attrs, offset))
            continue
        frame, i = _html_end_tag(src, i, stack)
        length = offset - frame.offset
        if length <= 0:
            continue
        entity = _html_entity(frame, length, stack)
        if entity is not None:
            entities.append(entity)
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return "".join(out), _sorted(entities)


def _html_char_ref(src: str, i: int) -> tuple[str, int]:
    """The character an ``&...;`` reference at ``i`` stands for, and where the text goes on."""
    m = _HTML_ENTITY.match(src, i)
    if m is None:
        # tdlib keeps an unknown entity literally instead of failing.
        return "&", i + 1
    if m.group(1):
        char = _HTML_NAMED[m.group(1)]
    else:
        code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
        char = chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code < 0xE000 else "�"
    return char, m.end()


def _html_start_tag(src: str, begin: int) -> tuple[str, dict[str, str], int]:
    """The start tag at ``begin`` (its ``<``): its name, its attributes and where text resumes."""
    n = len(src)
    i = j = begin + 1
    while j < n and not src[j].isspace() and src[j] != ">":
        j += 1
    if j >= n:
        raise _fail(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
    tag = src[i:j].lower()
    if tag not in _HTML_TAGS:
        raise _fail(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, begin)}')
    attrs: dict[str, str] = {}
    while j < n and src[j] != ">":
        m = _HTML_ATTR.match(src, j)
        if m is None or m.end() == j:
            if src[j].isspace():
                j += 1
                continue
            raise _fail(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        value = m.group(2) if m.group(2) is not None else m.group(3) or m.group(4) or ""
        attrs[m.group(1).lower()] = _html_unescape(value)
        j = m.end()
    if j >= n:
        raise _fail(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise _fail('Tag "span" must have class "tg-spoiler"')
    return tag, attrs, j + 1


def _html_end_tag(src: str, begin: int, stack: list[_Frame]) -> tuple[_Frame, int]:
    """The end tag at ``begin`` (its ``<``) closes the innermost open tag: that tag's frame,
    taken off ``stack``, and where text resumes."""
    n = len(src)
    if not stack:
        raise _fail(f"Unexpected end tag at byte offset {_byte_offset(src, begin)}")
    j = begin + 2
    while j < n and not src[j].isspace() and src[j] != ">":
        j += 1
    end_name = src[begin + 2 : j].lower()
    while j < n and src[j].isspace():
        j += 1
    if j >= n or src[j] != ">":
        raise _fail(f"Unclosed end tag at byte offset {_byte_offset(src, begin)}")
    frame = stack[-1]
    if end_name and end_name != frame.tag:
        raise _fail(
            f"Unmatched end tag at byte offset {_byte_offset(src, begin)}, "
            f'expected "</{frame.tag}>", found "</{end_name}>"'
        )
    stack.pop()
    return frame, j + 1


def _html_unescape(value: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            return _HTML_NAMED[m.group(1)]
        code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code < 0xE000 else "�"

    return _HTML_ENTITY.sub(repl, value)


def _html_entity(frame: _Frame, length: int, stack: list[_Frame]) -> Entity | None:
    tag, attrs = frame.tag, frame.attrs
    if tag == "code" and stack and stack[-1].tag == "pre" and stack[-1].offset == frame.offset:
        # <pre><code class="language-x"> is one pre entity with a language.
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].language = language[len("language-") :]
            return None
    if tag == "pre" and frame.language:
        return _entity("pre", frame.offset, length, language=frame.language)
    if tag in _HTML_SIMPLE:
        return _entity(_HTML_SIMPLE[tag], frame.offset, length)
    if tag == "span":
        return _entity("spoiler", frame.offset, length)
    if tag == "a":
        href = attrs.get("href", "")
        return _entity("text_link", frame.offset, length, url=href) if href else None
    if tag == "blockquote":
        kind = "expandable_blockquote" if "expandable" in attrs else "blockquote"
        return _entity(kind, frame.offset, length)
    if tag == "tg-emoji":
        emoji_id = attrs.get("emoji-id", "")
        return _entity("custom_emoji", frame.offset, length, custom_emoji_id=emoji_id)
    return None


# --- MarkdownV2 --------------------------------------------------------------------------------

_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


class _MdFrame:
    __slots__ = ("argument", "begin", "byte_index", "kind", "offset")

    def __init__(self, kind: str, offset: int, byte_index: int, begin: int) -> None:
        self.kind = kind
        self.offset = offset
        self.byte_index = byte_index
        self.begin = begin  # index into the output pieces, to use the text as a URL
        self.argument = ""


def _skip_pre_newline(src: str, i: int) -> int:
    n = len(src)
    if i < n and src[i] in "\r\n":
        if i + 1 < n and src[i + 1] in "\r\n" and src[i] != src[i + 1]:
            return i + 2
        return i + 1
    return i


def _mdv2_closes(top: str | None, src: str, i: int) -> bool:
    """Whether the reserved character at ``i`` ends the innermost open entity ``top``."""
    c, ahead = src[i], src[i + 1 : i + 3]
    return (
        (top == "bold" and c == "*")
        or (top == "italic" and c == "_" and ahead[:1] != "_")
        or (top == "code" and c == "`")
        or (top == "pre" and c == "`" and ahead == "``")
        or (top in ("text_link", "custom_emoji") and c == "]")
        or (top == "underline" and c == "_" and ahead[:1] == "_")
        or (top == "strikethrough" and c == "~")
        or (top == "spoiler" and c == "|" and ahead[:1] == "|")
    )


def _mdv2_open(src: str, i: int, offset: int, begin: int) -> tuple[_MdFrame, int]:
    """The entity that the reserved character at ``i`` opens, and where the text goes on."""
    n = len(src)
    c = src[i]
    nxt = src[i + 1] if i + 1 < n else ""
    byte_index = _byte_offset(src, i)
    argument = ""
    if c == "_":
        if nxt == "_":
            i += 1
            kind = "underline"
        else:
            kind = "italic"
    elif c == "*":
        kind = "bold"
    elif c == "~":
        kind = "strikethrough"
    elif c == "|" and nxt == "|":
        i += 1
        kind = "spoiler"
    elif c == "[":
        kind = "text_link"
    elif c == "`":
        if src[i + 1 : i + 3] == "``":
            i += 3
            kind = "pre"
            end = i
            while end < n and not src[end].isspace() and src[end] != "`":
                end += 1
            if end != i and end < n and src[end] != "`":
                argument = src[i:end]
                i = end
            i = _skip_pre_newline(src, i) - 1
        else:
            kind = "code"
    elif c == "!" and nxt == "[":
        i += 1
        kind = "custom_emoji"
    else:
        raise _fail(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
    frame = _MdFrame(kind, offset, byte_index, begin)
    frame.argument = argument
    return frame, i + 1


def _mdv2_url(src: str, i: int) -> tuple[str, int]:
    """The URL of a link or custom emoji that starts at ``i`` (after its ``(``), unescaped, and
    the index of its closing ``)``."""
    n = len(src)
    url_begin = i
    url_chars: list[str] = []
    while i < n and src[i] != ")":
        if src[i] == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            url_chars.append(src[i + 1])
            i += 2
            continue
        url_chars.append(src[i])
        i += 1
    if i >= n:
        raise _fail(f"Can't find end of a URL at byte offset {_byte_offset(src, url_begin)}")
    return "".join(url_chars), i


def parse_markdown_v2(src: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2; raises :class:`EntityParseError` like Telegram does.

    Block quotes (``>`` at the start of a line) are recognised and stripped; the expandable
    variant's ``**>`` / ``||`` markers are not modelled.
    """
    out: list[str] = []
    offset = 0
    stack: list[_MdFrame] = []
    entities: list[Entity] = []
    quote_start: int | None = None
    i, n = 0, len(src)

    def at(k: int) -> str:
        return src[k] if k < n else ""

    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            out.append(src[i + 1])
            offset += 1
            i += 2
            continue
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if c == "\n" and quote_start is not None and at(i + 1) != ">":
            entities.append(_entity("blockquote", quote_start, offset - quote_start))
            quote_start = None
        if c == ">" and not in_code and (i == 0 or src[i - 1] == "\n"):
            if quote_start is None:
                quote_start = offset
            i += 1
            continue
        reserved = "`" if in_code else _MDV2_RESERVED
        if c not in reserved:
            out.append(c)
            offset += 1 if ord(c) < 0x10000 else 2
            i += 1
            continue
        if not _mdv2_closes(stack[-1].kind if stack else None, src, i):
            frame, i = _mdv2_open(src, i, offset, len(out))
            stack.append(frame)
            continue
        frame = stack.pop()
        extra: dict[str, str] = {}
        if frame.kind in ("underline", "spoiler"):
            i += 1
        elif frame.kind == "pre":
            i += 2
            if frame.argument:
                extra["language"] = frame.argument
        elif frame.kind in ("text_link", "custom_emoji"):
            if at(i + 1) != "(":
                url = "".join(out[frame.begin :])
            else:
                url, i = _mdv2_url(src, i + 2)
            if frame.kind == "text_link":
                extra["url"] = url
            else:
                extra["custom_emoji_id"] = url.removeprefix("tg://emoji?id=")
        i += 1
        if offset > frame.offset:
            entities.append(_entity(frame.kind, frame.offset, offset - frame.offset, **extra))
    if stack:
        frame = stack[-1]
        raise _fail(
            f"Can't find end of {_MDV2_NAMES[frame.kind]} entity at byte offset {frame.byte_index}"
        )
    if quote_start is not None and offset > quote_start:
        entities.append(_entity("blockquote", quote_start, offset - quote_start))
    return "".join(out), _sorted(entities)


# --- legacy Markdown ---------------------------------------------------------------------------


def parse_markdown(src: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown (``*bold*``, ``_italic_``, code, pre, ``[text](url)``)."""
    out: list[str] = []
    offset = 0
    entities: list[Entity] = []
    i, n = 0, len(src)

    def at(k: int) -> str:
        return src[k] if k < n else ""

    while i < n:
        c = src[i]
        if c == "\\" and at(i + 1) in ("_", "*", "`", "["):
            out.append(src[i + 1])
            offset += 1
            i += 2
            continue
        if c not in "_*`[":
            out.append(c)
            offset += 1 if ord(c) < 0x10000 else 2
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        is_pre = False
        language = ""
        i += 1
        if c == "`" and at(i) == "`" and at(i + 1) == "`":
            i += 2
            is_pre = True
            end = i
            while end < n and not src[end].isspace() and src[end] != "`":
                end += 1
            if end != i and end < n and src[end] != "`":
                language = src[i:end]
                i = end
            i = _skip_pre_newline(src, i)
        start = offset
        while i < n and (
            src[i] != end_char or (is_pre and not (at(i + 1) == "`" and at(i + 2) == "`"))
        ):
            out.append(src[i])
            offset += 1 if ord(src[i]) < 0x10000 else 2
            i += 1
        if i >= n:
            raise _fail(
                f"Can't find end of the entity starting at byte offset {_byte_offset(src, begin)}"
            )
        if offset > start:
            length = offset - start
            if c == "_":
                entities.append(_entity("italic", start, length))
            elif c == "*":
                entities.append(_entity("bold", start, length))
            elif c == "[":
                if at(i + 1) != "(":
                    url = src[begin + 1 : i]
                else:
                    i += 2
                    url_start = i
                    while i < n and src[i] != ")":
                        i += 1
                    url = src[url_start:i]
                if url:
                    entities.append(_entity("text_link", start, length, url=url))
            elif is_pre:
                extra = {"language": language} if language else {}
                entities.append(_entity("pre", start, length, **extra))
            else:
                entities.append(_entity("code", start, length))
        if is_pre:
            i += 2
        i += 1
    return "".join(out), _sorted(entities)


# --- entry points ------------------------------------------------------------------------------


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Apply ``parse_mode`` (case-insensitive; None or empty means plain text)."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise EntityParseError(f"Bad Request: unsupported parse_mode: {parse_mode}")


_STRIP = " \t\r\n\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b"


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding white space as Telegram does, moving and clipping entities to match."""
    stripped = text.strip(_STRIP)
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip(_STRIP))])
    total = utf16_len(stripped)
    kept: list[Entity] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def user_entities(text: str) -> list[Entity]:
    """Entities Telegram adds to a user's message: here only a leading ``/command``.

    PTB's CommandHandler needs the ``bot_command`` entity at offset 0; other auto-detected
    entities (URLs, mentions, hashtags) are not modelled.
    """
    if not text.startswith("/"):
        return []
    m = _COMMAND.match(text)
    if m is None:
        return []
    return [_entity("bot_command", 0, utf16_len(m.group(0)))]

"""The text catalogs (handlers/locale): every language says the same things with the same
placeholders, and what a language lacks is said in English."""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

import handlers.texts as texts
from handlers.texts import DOMAIN, LOCALE_DIR, SOURCE_LANGUAGE, catalogs, t

CATALOG_FILES = sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def _read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, domain=DOMAIN)


def _texts(catalog: Catalog) -> dict[str, Message]:
    """The catalog's entries by key: all singular (texts are chosen by key, not by number)."""
    texts = {}
    for message in catalog:
        if message.id:
            assert isinstance(message.id, str) and isinstance(message.string, str), message.id
            texts[message.id] = message
    return texts


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_and_chinese_catalogs_ship() -> None:
    assert {path.parent.parent.name for path in CATALOG_FILES} >= {"en", "zh"}
    assert set(catalogs()) == {path.parent.parent.name for path in CATALOG_FILES}


@pytest.mark.parametrize("path", CATALOG_FILES, ids=lambda path: path.parent.parent.name)
def test_each_catalog_has_the_english_keys_and_placeholders(path: Path) -> None:
    source = _texts(_read(LOCALE_DIR / SOURCE_LANGUAGE / "LC_MESSAGES" / f"{DOMAIN}.po"))
    catalog = _read(path)
    assert catalog.locale is not None and str(catalog.locale) == path.parent.parent.name
    messages = _texts(catalog)
    assert list(messages) == list(source), "the same keys, in the same order"
    for key, message in messages.items():
        # The shipped catalogs are complete: nothing left to fall back to English.
        assert message.string and not message.fuzzy, key
        assert (_placeholders(str(message.string))
                == _placeholders(str(source[key].string))), key
    assert not catalog.obsolete


def test_a_language_without_a_catalog_is_english() -> None:
    assert t("welcome", "fr") == t("welcome", "en") == catalogs()["en"]["welcome"]
    assert t("unknown_code", "", {"code": "x"}) == t("unknown_code", "en", {"code": "x"})
    assert t("welcome", "zh") != t("welcome", "en")


def test_an_unknown_key_is_the_generic_error_in_the_language() -> None:
    assert t("no.such.key", "zh") == t("error", "zh") != t("error", "en")
    assert t("invalid.no_such_reason", "zh") == t("invalid.generic", "zh")
    assert t("invalid.no_such_reason", "fr") == t("invalid.generic", "en")


def test_parameters_are_escaped_and_a_missing_one_shows_as_a_question_mark() -> None:
    when = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    assert t("not_open_yet", "en", {"opens_at": when}) == (
        "This poll has not opened yet. It opens on 2026-03-04 05:06 UTC.")
    assert t("unknown_code", "en", {"code": "<b>"}) == (
        "I could not find a poll with the code “&lt;b&gt;”. Please check the link or QR code.")
    assert "“<b>”" in t("unknown_code", "en", {"code": "<b>"}, raw=frozenset({"code"}))
    assert t("unknown_code", "zh") == "找不到代码为“?”的问卷。请检查链接或二维码。"


@pytest.fixture
def partial_french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shipped catalogs plus a French one that has translated one text, left one empty
    and marked one fuzzy (its English changed since it was translated)."""
    for path in CATALOG_FILES:
        target = tmp_path / path.relative_to(LOCALE_DIR)
        target.parent.mkdir(parents=True)
        target.write_bytes(path.read_bytes())
    french = Catalog(locale="fr", domain=DOMAIN)
    french.add("yes", "Oui")
    french.add("no", "")
    french.add("skip", "Passer ▶", flags=["fuzzy"])
    target = tmp_path / "fr" / "LC_MESSAGES" / f"{DOMAIN}.po"
    target.parent.mkdir(parents=True)
    with target.open("wb") as file:
        write_po(file, french)
    monkeypatch.setattr(texts, "LOCALE_DIR", tmp_path)
    catalogs.cache_clear()
    yield
    catalogs.cache_clear()


@pytest.mark.usefixtures("partial_french")
def test_a_partly_translated_catalog_says_the_rest_in_english() -> None:
    assert sorted(catalogs()) == ["en", "fr", "zh"]
    assert t("yes", "fr") == "Oui"
    assert t("no", "fr") == "No", "an empty text is not translated"
    assert t("skip", "fr") == "Skip ▶", "a fuzzy text is not trusted"
    assert t("welcome", "fr") == t("welcome", "en"), "a missing key is English"
    assert t("no.such.key", "fr") == t("error", "en")

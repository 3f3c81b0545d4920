"""Write the translation template (.pot) of the bot's texts from the English catalog.

The texts' msgids are keys (``t("welcome", lang)``, often built: ``t(f"menu.{name}", lang)``),
so ``pybabel extract`` cannot find them in the code: the English catalog
(``handlers/locale/en/LC_MESSAGES/civicpulse.po``) is their source. The template has its keys,
in its order, with its comments for translators and its creation date (so that updating an
unchanged catalog changes nothing), and no texts. ``make catalogs`` runs this, then
``pybabel init`` (a new language) and ``pybabel update`` (every catalog) from the template.

    python scripts/catalog_template.py OUT.pot
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from handlers.texts import DOMAIN, LOCALE_DIR, SOURCE_LANGUAGE

# Babel turns "Translations template" into "<Language> translations" in a new catalog.
HEADER = (
    "# Translations template for CivicPulse: the bot's texts.\n"
    "#\n"
    "# Translated from the English catalog (../../en/LC_MESSAGES/civicpulse.po):\n"
    "# its msgstr for each key is the source text. Keep each text's {name}\n"
    "# placeholders as they are in English. A text left empty is said in English."
)


def template() -> Catalog:
    with (LOCALE_DIR / SOURCE_LANGUAGE / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
        source = read_po(file, domain=DOMAIN)
    pot = Catalog(domain=DOMAIN, project=source.project, version=source.version,
                  header_comment=HEADER, creation_date=source.creation_date,
                  msgid_bugs_address=source.msgid_bugs_address, fuzzy=False)
    for message in source:
        if message.id:
            pot.add(message.id, "", auto_comments=message.auto_comments)
    return pot


def main(out: str) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        write_po(file, template(), sort_output=False, include_lineno=False)


if __name__ == "__main__":
    main(*sys.argv[1:])

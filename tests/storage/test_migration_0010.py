"""Migration 0010: units and people get an optional Chinese name, and lose it again on the
way down without losing anything else. On SQLite, and on PostgreSQL when configured."""

from __future__ import annotations

from storage.migrate import downgrade, upgrade
from tests.storage.test_migration_0008 import _columns, _rows, _run


def test_0010_adds_the_chinese_names_and_takes_them_away(empty_url: str) -> None:
    url = empty_url
    upgrade(url, "0009")
    _run(url, [
        ("INSERT INTO units (id, code, name, type) VALUES (1, 'V2', 'Pine Village', 'village')",
         {}),
        ("INSERT INTO people (id, name, position) VALUES (1, 'Wang Fang', 'Village head')", {}),
    ])
    upgrade(url)
    assert "name_zh" in _columns(url, "units") and "name_zh" in _columns(url, "people")
    assert _rows(url, "SELECT name, name_zh FROM units") == [("Pine Village", None)]
    _run(url, [("UPDATE units SET name_zh = '松树村'", {}),
                ("UPDATE people SET name_zh = '王芳'", {})])

    downgrade(url, "0009")
    assert "name_zh" not in _columns(url, "units") and "name_zh" not in _columns(url, "people")
    assert _rows(url, "SELECT code, name FROM units") == [("V2", "Pine Village")]
    assert _rows(url, "SELECT name, position FROM people") == [("Wang Fang", "Village head")]
    upgrade(url)
    assert _rows(url, "SELECT name, name_zh FROM people") == [("Wang Fang", None)]

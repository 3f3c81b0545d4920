"""The house's shape: imports run one way, no cycles, rooms and functions of readable size.

The figures come from scripts/import_graph.py, which prints them for a person; these tests
keep them at zero so a new import against the direction fails here, not in review.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def house() -> ModuleType:
    path = ROOT / "scripts" / "import_graph.py"
    spec = importlib.util.spec_from_file_location("import_graph", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def graph(house: ModuleType) -> dict[str, set[str]]:
    return house.graph_of(house.modules())  # type: ignore[no-any-return]


def test_no_module_imports_against_the_direction(house: ModuleType,
                                                 graph: dict[str, set[str]]) -> None:
    assert house.back_edges(graph) == []


def test_analysis_imports_nothing_of_the_project(graph: dict[str, set[str]]) -> None:
    leaks = {(a, b) for a, targets in graph.items() if a.startswith("analysis")
             for b in targets if not b.startswith("analysis")}
    assert leaks == set()


def test_no_cycles(house: ModuleType, graph: dict[str, set[str]]) -> None:
    assert house.strongly_connected(graph) == []


def test_no_module_over_the_limit(house: ModuleType) -> None:
    long = {name: len(path.read_text(encoding="utf-8").splitlines())
            for name, path in house.modules().items()}
    assert {n: c for n, c in long.items() if c > house.MAX_MODULE_LINES} == {}


def test_no_function_over_the_limit(house: ModuleType) -> None:
    assert house.long_functions(house.modules()) == []


def test_readme_layout_names_every_sub_package(house: ModuleType) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert section is not None, "README has no Layout section"
    packages = sorted({name for name in house.modules()
                       if (ROOT / name.replace(".", "/") / "__init__.py").exists()})
    missing = [p for p in packages if f"`{p.replace('.', '/')}/`" not in section.group(1)]
    assert missing == []


def _classes(house: ModuleType, suffix: str) -> list[str]:
    found = []
    for name, path in house.modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith(suffix):
                found.append(f"{name}.{node.name}")
    return sorted(found)


def test_who_is_asking_exists_once(house: ModuleType) -> None:
    assert _classes(house, "Caller") == ["surveys.people.caller.Caller"]
    # Refusals of the people asking; a refused file (handlers.evidence) is another matter.
    assert [c for c in _classes(house, "Refused") if c.endswith(".Refused")] == [
        "surveys.people.caller.Refused"]

"""What the project declares and locks matches what it imports and what `make run` installs.

`make run` installs requirements.lock alone, so that file must hold everything the production
code needs (a package that only arrives under another one disappears the day that one drops
it) and nothing that only tests, checks or fits (pytest, mypy, scikit-learn, ...), which live
in requirements-dev.lock. Both are read from this environment's installed metadata, so the
checks need no network.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("bot", "handlers", "surveys", "analysis", "storage", "sandbox")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==\S+$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def runtime_requirements() -> list[str]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    return list(project["dependencies"])


def dev_requirements() -> list[str]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    return list(project["optional-dependencies"]["dev"])


def build_requirements() -> list[str]:
    build = pyproject()["build-system"]
    assert isinstance(build, dict)
    return list(build["requires"])


def locked(name: str) -> tuple[set[str], list[str]]:
    """A lock file's pinned names (canonical) and its lines that are not pins or comments."""
    names, other = set(), []
    for line in (ROOT / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if match:
            names.add(canonical(match.group(1)))
        else:
            other.append(line)
    return names, other


def imported_top_levels() -> dict[str, set[str]]:
    """Absolute imports in production code: top-level module -> files importing it."""
    found: dict[str, set[str]] = {}
    for package in PRODUCTION:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    found.setdefault(module.split(".")[0], set()).add(
                        str(path.relative_to(ROOT)))
    return found


def closure(requirements: list[str]) -> set[str]:
    """Every distribution (canonical name) that installing ``requirements`` brings in."""
    extras_seen: dict[str, set[str]] = {}
    todo = [Requirement(line) for line in requirements]
    while todo:
        requirement = todo.pop()
        name = canonical(requirement.name)
        if name in extras_seen and requirement.extras <= extras_seen[name]:
            continue
        extras_seen.setdefault(name, set()).update(requirement.extras)
        for line in metadata.requires(requirement.name) or []:
            dependency = Requirement(line)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": extra})
                                     for extra in ("", *requirement.extras)):
                todo.append(dependency)
    return set(extras_seen)


def test_every_third_party_import_in_production_code_is_declared() -> None:
    declared = {canonical(Requirement(line).name) for line in runtime_requirements()}
    providers = metadata.packages_distributions()
    undeclared = {}
    for module, files in imported_top_levels().items():
        if module in sys.stdlib_module_names or module in PRODUCTION:
            continue
        distributions = {canonical(name) for name in providers.get(module, [])}
        if not distributions & declared:
            undeclared[module] = (sorted(distributions), sorted(files)[:3])
    assert undeclared == {}


def test_runtime_lock_holds_exactly_what_the_runtime_dependencies_bring_in() -> None:
    names, other = locked("requirements.lock")
    assert other == []
    # The build requirements too: make installs the project without build isolation.
    expected = closure(runtime_requirements()) | closure(build_requirements())
    assert names == expected, (
        f"missing: {sorted(expected - names)}, not needed to run: {sorted(names - expected)}")
    for tool in ("pytest", "mypy", "ruff", "hypothesis", "scikit-learn", "scipy", "snownlp"):
        assert tool not in names


def test_dev_lock_adds_the_dev_extra_on_top_of_the_runtime_lock() -> None:
    runtime, _ = locked("requirements.lock")
    dev, other = locked("requirements-dev.lock")
    assert other == ["-r requirements.lock"]
    assert not runtime & dev, "a runtime package is pinned twice"
    expected = closure(runtime_requirements() + dev_requirements()) - runtime
    assert dev == expected, (
        f"missing: {sorted(expected - dev)}, not needed: {sorted(dev - expected)}")

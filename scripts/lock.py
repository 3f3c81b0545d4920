"""Regenerate requirements.lock (what runs) and requirements-dev.lock (the dev extra on top).

`make run` installs requirements.lock alone, so it must hold exactly what the project's own
dependencies pull in, and nothing that only tests, checks or fits; `make test` adds
requirements-dev.lock. pip resolves pyproject.toml's ranges without installing anything
(`pip install --dry-run --ignore-installed --report`), with the current pins as constraints, so
a pin that still satisfies the ranges stays as it was. To move a package, delete its line
from the lock and run this again; to add one, add it to pyproject.toml and run this again.

The runtime set is resolved first and then held fixed while the dev extra is resolved, so the
two files never disagree about a shared package. Like `pip freeze` before, the result is for
this interpreter and platform (CPython 3.11 on Linux).

Usage: .venv/bin/python scripts/lock.py
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")

RUNTIME_HEADER = """\
# What runs: exact versions of everything `pip install .` pulls in, for `make run`.
# Ranges live in pyproject.toml; development tools are in requirements-dev.lock.
# Regenerate with: .venv/bin/python scripts/lock.py (it says how to move a pin).
# setuptools is pinned too: make builds the project with it (no build isolation).
"""
DEV_HEADER = """\
# Development on top of what runs (tests, linters, type checker, the benches' baselines and
# fitting tools), for `make test` and the benches. Ranges live in pyproject.toml's dev extra.
# Regenerate with: .venv/bin/python scripts/lock.py
-r requirements.lock
"""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """The ``name==version`` lines of a lock file (comments and ``-r`` lines skipped)."""
    if not path.exists():
        return {}
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


def resolve(requirements: Iterable[str], constraints: Mapping[str, str]) -> dict[str, str]:
    """What pip would install for ``requirements`` into an empty environment: name -> version."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as pinned:
        pinned.write("".join(f"{name}=={version}\n" for name, version in constraints.items()))
        pinned.flush()
        completed = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
             "--quiet", "--disable-pip-version-check", "--report", "-",
             "-c", pinned.name, *requirements],
            check=True, capture_output=True, text=True)
    report = json.loads(completed.stdout)
    return {item["metadata"]["name"]: item["metadata"]["version"] for item in report["install"]}


def render(header: str, pins: Mapping[str, str]) -> str:
    lines = (f"{name}=={pins[name]}" for name in sorted(pins, key=canonical))
    return header + "".join(f"{line}\n" for line in lines)


def main() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    # The build requirements belong to what runs: make installs the project without isolation.
    runtime_requirements = [*project["dependencies"], *pyproject["build-system"]["requires"]]
    dev_requirements = project["optional-dependencies"]["dev"]

    old = {**read_pins(DEV_LOCK), **read_pins(RUNTIME_LOCK)}
    runtime = resolve(runtime_requirements, old)
    held = {**old, **runtime}
    everything = resolve([*runtime_requirements, *dev_requirements], held)
    moved = {name for name in runtime if everything.get(name) != runtime[name]}
    if moved:
        sys.exit(f"the dev extra needs other versions of runtime packages: {sorted(moved)}")
    dev = {name: version for name, version in everything.items() if name not in runtime}

    RUNTIME_LOCK.write_text(render(RUNTIME_HEADER, runtime))
    DEV_LOCK.write_text(render(DEV_HEADER, dev))
    print(f"{RUNTIME_LOCK.name}: {len(runtime)} packages; {DEV_LOCK.name}: {len(dev)} more")


if __name__ == "__main__":
    main()

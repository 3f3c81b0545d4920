"""The project's import graph: files, cycles and imports against the direction of the house.

The direction is bot → handlers → surveys → storage / analysis (sandbox and bench stand
apart). Every import counts, including those inside functions, since they hide a
dependency rather than remove it. Prints figures, and with ``--dot`` a Graphviz graph of
the packages.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "surveys", "storage", "analysis", "sandbox")
# Which packages each may import; anything else is an import against the direction.
# The sandbox (the local Bot API stand-in) stands apart: only the runner starts it.
ALLOWED = {
    "bot": {"handlers", "surveys", "storage", "analysis", "sandbox"},
    "handlers": {"surveys", "storage", "analysis"},
    "surveys": {"storage", "analysis"},
    "storage": {"analysis"},
    "analysis": set(),
    "sandbox": set(),
}
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 80
# Parser tables: one branch per entity kind of Telegram's formatting, read as a table.
FUNCTION_EXEMPT = {"sandbox.formatting.parse_html", "sandbox.formatting.parse_markdown_v2"}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = ROOT) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            found[module_name(path, root)] = path
    return found


def long_functions(known: dict[str, Path]) -> list[tuple[str, int]]:
    """Functions (and methods) over the limit, as (module.qualified_name, lines)."""
    found: list[tuple[str, int]] = []

    def walk(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}.{child.name}"
                if not isinstance(child, ast.ClassDef):
                    length = (child.end_lineno or child.lineno) - child.lineno + 1
                    if length > MAX_FUNCTION_LINES and name not in FUNCTION_EXEMPT:
                        found.append((name, length))
                walk(child, name)

    for name, path in known.items():
        walk(ast.parse(path.read_text(encoding="utf-8")), name)
    return sorted(found)


def back_edges(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted(
        (a, b)
        for a, targets in graph.items()
        for b in targets
        if (top_a := a.split(".")[0]) != (top_b := b.split(".")[0])
        and top_b not in ALLOWED[top_a]
    )


def graph_of(known: dict[str, Path]) -> dict[str, set[str]]:
    return {name: imports_of(name, path, known) for name, path in known.items()}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for candidate in names:
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot", action="store_true", help="print a package graph for Graphviz")
    parser.add_argument("--verbose", action="store_true", help="list every back-edge and cycle")
    parser.add_argument("--root", type=Path, default=ROOT, help="another checkout to measure")
    args = parser.parse_args()

    known = modules(args.root.resolve())
    graph = graph_of(known)
    edges = sum(len(targets) for targets in graph.values())
    cycles = strongly_connected(graph)
    mutual = sorted(
        (a, b) for a, targets in graph.items() for b in targets if a < b and a in graph[b]
    )
    back = back_edges(graph)
    functions = long_functions(known)
    lines = {name: len(path.read_text(encoding="utf-8").splitlines())
             for name, path in known.items()}
    package_edges: dict[tuple[str, str], int] = defaultdict(int)
    for a, targets in graph.items():
        for b in targets:
            if a.split(".")[0] != b.split(".")[0]:
                package_edges[(a.split(".")[0], b.split(".")[0])] += 1

    if args.dot:
        print("digraph house {")
        for (a, b), count in sorted(package_edges.items()):
            style = "" if b in ALLOWED[a] else ', color="red"'
            print(f'  "{a}" -> "{b}" [label="{count}"{style}];')
        print("}")
        return 0

    print(f"files:            {len(known)}")
    print(f"import edges:     {edges}")
    largest = max((len(c) for c in cycles), default=0)
    print(f"cycles:           {len(cycles)} (largest {largest} files)")
    print(f"mutual imports:   {len(mutual)}")
    print(f"back-edges:       {len(back)}")
    print(f"over {MAX_MODULE_LINES} lines:   "
          f"{sum(1 for n in lines.values() if n > MAX_MODULE_LINES)}")
    print(f"functions > {MAX_FUNCTION_LINES}:   {len(functions)}")
    edges = sorted(package_edges.items())
    print("package edges:    " + ", ".join(f"{a}→{b} {n}" for (a, b), n in edges))
    if args.verbose:
        for a, b in back:
            print(f"  back-edge {a} -> {b}")
        for a, b in mutual:
            print(f"  mutual {a} <-> {b}")
        for component in cycles:
            print(f"  cycle of {len(component)}: {' '.join(component)}")
        for name, count in sorted(lines.items()):
            if count > MAX_MODULE_LINES:
                print(f"  {count} lines: {name}")
        for name, count in functions:
            print(f"  function of {count} lines: {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

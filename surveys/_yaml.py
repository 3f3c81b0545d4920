"""YAML loading shared by the survey and unit loaders.

PyYAML silently keeps the last of two equal keys in a mapping; in a questionnaire or a unit list
that hides a mistake (two ``text:`` keys, two ``code:`` keys), so these loaders reject them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

MERGE_TAG = "tag:yaml.org,2002:merge"
MAP_TAG = "tag:yaml.org,2002:map"


class LineDict(dict[Any, Any]):
    """A mapping that remembers the 1-based line it starts on in the YAML text."""

    line: int = 0


def _check_duplicates(loader: yaml.SafeLoader | yaml.BaseLoader, node: MappingNode) -> None:
    seen: dict[Hashable, Node] = {}
    for key_node, _ in node.value:
        # Merge keys (``<<: *base``) are meant to be overridden, so they are not duplicates.
        if key_node.tag == MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            continue  # the constructor reports unhashable keys itself
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r} (first defined on line {first})",
                key_node.start_mark,
            )
        seen[key] = key_node


class StrictSafeLoader(yaml.SafeLoader):
    """``SafeLoader`` that rejects duplicate mapping keys."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        """Construct a mapping after checking it has no duplicate keys."""
        _check_duplicates(self, node)
        return super().construct_mapping(node, deep=deep)


class StrictTextLoader(yaml.BaseLoader):
    """Loader where every scalar stays text and mappings remember their line.

    Unit codes such as ``0101`` would otherwise become the octal number 65, and ``no`` a
    boolean; reading everything as text lets the unit parser apply one set of rules to YAML
    and CSV alike.
    """

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        """Construct a mapping after checking it has no duplicate keys."""
        _check_duplicates(self, node)
        return super().construct_mapping(node, deep=deep)


def _construct_line_dict(loader: StrictTextLoader, node: MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    data.update(loader.construct_mapping(node))


StrictTextLoader.add_constructor(MAP_TAG, _construct_line_dict)


def expands_beyond(data: Any, limit: int) -> bool:
    """Return whether ``data`` has more than ``limit`` values once aliases are expanded.

    YAML aliases let a small file describe an exponentially large (or cyclic) structure
    ("billion laughs"); validating or printing it would hang. The walk stops at ``limit``, so
    the check itself is cheap.

    Args:
        data: The loaded YAML data.
        limit: The largest number of values (scalars, lists and mappings) allowed.

    Returns:
        True if the expanded structure is larger than ``limit``.
    """
    budget = limit
    stack: list[Any] = [data]
    while stack:
        budget -= 1
        if budget < 0:
            return True
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """Turn a PyYAML error into one line naming the line and column.

    Args:
        exc: The error raised by the YAML loader.

    Returns:
        A message such as ``"invalid YAML at line 3, column 7: found duplicate key 'id'"``.
    """
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        if mark is not None:
            return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return f"invalid YAML: {problem}"
    return f"invalid YAML: {exc}"

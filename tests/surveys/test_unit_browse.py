"""Choosing a unit a level at a time (UnitTree.browse): where it opens, what it lists and where
going up leads, for everyone (a resident reporting a problem) and for a scoped person."""

from __future__ import annotations

from storage.models import Role
from storage.units import UnitNode
from surveys.people.access import Actor, UnitTree

# Two counties; Hill has two townships, the first with two villages.
UNITS = [
    (1, "Hill", None), (2, "Anchor", None),
    (10, "Oak", 1), (11, "Birch", 1),
    (100, "Zeta", 10), (101, "Alpha", 10),
    (20, "Cove", 2),
]


def _tree() -> UnitTree:
    return UnitTree([UnitNode(i, f"U{i}", name, None, "unit", parent, None, None, None, None)
                     for i, name, parent in UNITS])


def _names(units: list[UnitNode]) -> list[str]:
    return [u.name for u in units]


def test_everyone_starts_at_the_counties_by_name() -> None:
    tree = _tree()
    for everything in (tree.by_id.keys(), set(tree.by_id)):
        at = tree.browse(everything, None)
        assert at.node is None and at.up is None
        assert _names(at.listed) == ["Anchor", "Hill"]
        assert at.has_inside(tree.by_id[1]) and not tree.browse(everything, 20).listed


def test_opening_a_unit_lists_its_children_and_leads_up() -> None:
    tree = _tree()
    at = tree.browse(tree.by_id.keys(), 10)
    assert at.node is not None and at.node.name == "Oak"
    assert _names(at.listed) == ["Alpha", "Zeta"]
    assert at.up == 1
    assert tree.browse(tree.by_id.keys(), 1).up == 0  # a county: back to the top


def test_a_scope_of_one_township_opens_inside_it() -> None:
    tree = _tree()
    visible = Actor(7, "Admin", ((Role.ADMIN, 10),)).visible_units(tree, [Role.ADMIN])
    assert visible == {10, 100, 101}
    at = tree.browse(visible, None)  # one place to start: inside it
    assert at.node is not None and at.node.id == 10
    assert _names(at.listed) == ["Alpha", "Zeta"] and at.up is None
    outside = tree.browse(visible, 2)  # a unit outside the scope is not opened
    assert outside.node is not None and outside.node.id == 10


def test_a_scope_of_several_subtrees_starts_at_their_tops() -> None:
    tree = _tree()
    visible = tree.subtree(11) | tree.subtree(20) | tree.subtree(100)
    at = tree.browse(visible, None)
    assert at.node is None
    assert _names(at.listed) == ["Birch", "Cove", "Zeta"]
    assert tree.browse(visible, 100).up == 0

"""Where evidence was taken, compared with the unit it is about."""

from __future__ import annotations

import math

import pytest

from storage.models import Unit
from surveys.fieldwork.rules import check_location, distance_km, valid_location
from surveys.people.access import UnitTree


def _unit(id: int, parent: int | None, lat: float | None = None, lon: float | None = None,
          radius: float | None = None) -> Unit:
    return Unit(id=id, code=f"U{id}", name=f"Unit {id}", type="t", parent_id=parent,
                latitude=lat, longitude=lon, radius_km=radius)


def test_distance_matches_known_figures() -> None:
    # One degree of latitude is about 111.2 km everywhere.
    assert distance_km(30.0, 120.0, 31.0, 120.0) == pytest.approx(111.19, abs=0.05)
    # Beijing to Shanghai, about 1,067 km.
    assert distance_km(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1067, rel=0.01)
    assert distance_km(30.0, 120.0, 30.0, 120.0) == 0.0


def test_a_location_inside_the_radius_is_not_flagged() -> None:
    tree = UnitTree([_unit(1, None, 30.0, 120.0, radius=5)])
    check = check_location(tree, [1], 30.01, 120.01, default_radius_km=10)
    assert check.far is False
    assert check.distance_km == pytest.approx(1.46, abs=0.05)


def test_a_location_far_outside_is_flagged_with_its_distance() -> None:
    tree = UnitTree([_unit(1, None, 30.0, 120.0, radius=5)])
    check = check_location(tree, [1], 31.0, 120.0, default_radius_km=10)
    assert check.far is True
    assert check.distance_km == pytest.approx(111.19, abs=0.05)
    assert check.radius_km == 5


def test_a_unit_without_a_centre_uses_the_nearest_unit_above_it() -> None:
    tree = UnitTree([_unit(1, None, 30.0, 120.0, radius=20), _unit(2, 1), _unit(3, 2)])
    assert check_location(tree, [3], 30.1, 120.0, default_radius_km=1).far is False
    assert check_location(tree, [3], 30.5, 120.0, default_radius_km=1).far is True


def test_the_default_radius_applies_when_the_unit_sets_none() -> None:
    tree = UnitTree([_unit(1, None, 30.0, 120.0)])
    assert check_location(tree, [1], 30.05, 120.0, default_radius_km=10).far is False
    assert check_location(tree, [1], 30.05, 120.0, default_radius_km=2).far is True


def test_nothing_is_checked_when_no_unit_has_a_centre() -> None:
    tree = UnitTree([_unit(1, None), _unit(2, 1)])
    check = check_location(tree, [2], 30.0, 120.0, default_radius_km=10)
    assert check.distance_km is None and check.far is None


def test_a_cadre_of_several_units_is_checked_against_the_one_they_are_in() -> None:
    tree = UnitTree([_unit(1, None, 30.0, 120.0, radius=3), _unit(2, None, 31.0, 121.0, radius=3)])
    check = check_location(tree, [1, 2], 31.001, 121.0, default_radius_km=10)
    assert check.far is False
    assert check.distance_km == pytest.approx(0.11, abs=0.02)


@pytest.mark.parametrize("lat, lon", [(91, 0), (0, 181), (math.nan, 0), (0, math.inf)])
def test_impossible_coordinates_are_invalid(lat: float, lon: float) -> None:
    assert not valid_location(lat, lon)

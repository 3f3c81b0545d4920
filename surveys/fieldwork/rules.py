"""Rules shared by cadres' notes and inspectors' records: limits, and where evidence was taken.

Pure: no Telegram, no files. Handlers and the CLI build :class:`FieldRules` from settings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from surveys.people.access import UnitTree

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class FieldRules:
    """Limits from config.yaml (sections cadres, notes, inspections, evidence)."""

    invite_valid_for: timedelta = timedelta(days=7)
    note_max_length: int = 500
    correction_window: timedelta = timedelta(hours=24)
    remark_max_length: int = 500
    max_photo_bytes: int = 10 * 1024 * 1024
    max_photos: int = 5
    default_radius_km: float = 10.0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): plenty accurate at the scale of a county."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def valid_location(latitude: float, longitude: float) -> bool:
    return (math.isfinite(latitude) and math.isfinite(longitude)
            and -90 <= latitude <= 90 and -180 <= longitude <= 180)


@dataclass(frozen=True)
class LocationCheck:
    """How far a location is from the unit it is about, and whether that is too far.

    ``distance_km`` is None when neither the unit nor any unit above it has a centre: then
    nothing can be checked, and ``far`` is None too.
    """

    distance_km: float | None
    far: bool | None
    radius_km: float | None = None


def check_location(
    tree: UnitTree, unit_ids: Iterable[int], latitude: float, longitude: float,
    default_radius_km: float,
) -> LocationCheck:
    """Compare a location with the nearest of the units' centres.

    A unit without a centre uses the nearest unit above it that has one, with that unit's
    radius, so a village inherits its township's area until its own is configured.
    """
    best: LocationCheck | None = None
    for unit_id in unit_ids:
        for ancestor in tree.ancestors(unit_id):
            unit = tree.by_id[ancestor]
            if unit.latitude is None or unit.longitude is None:
                continue
            radius = unit.radius_km or default_radius_km
            distance = distance_km(latitude, longitude, unit.latitude, unit.longitude)
            check = LocationCheck(round(distance, 3), distance > radius, radius)
            if best is None or _closer(check, best):
                best = check
            break
    return best or LocationCheck(None, None)


def _closer(new: LocationCheck, old: LocationCheck) -> bool:
    # Inside any unit beats outside all; then the nearer centre.
    if new.far != old.far:
        return not new.far
    return (new.distance_km or 0.0) < (old.distance_km or 0.0)

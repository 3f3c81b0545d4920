"""What each step of the ``/inspect`` dialogue shows: the prompt, its buttons and a recap.

Built from the dialogue row (see :mod:`surveys.fieldwork.inspections`) and the unit tree;
nothing here changes the dialogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analysis.packing import clip
from storage.models import AdminDialogue, KeyTask, Person, Verdict
from storage.units import UnitLike
from surveys.fieldwork.rules import FieldRules, LocationCheck, check_location
from surveys.people.access import INSPECTOR_ROLES, Actor, UnitTree
from surveys.people.caller import Caller
from surveys.people.names import display_name

if TYPE_CHECKING:
    from storage.uow import UnitOfWork

PAGE_SIZE = 8
LABEL_LENGTH = 60


@dataclass
class Context:
    """What every step needs, loaded once per use case."""

    uow: UnitOfWork
    caller: Caller
    actor: Actor
    lang: str
    tree: UnitTree
    rules: FieldRules


@dataclass(frozen=True)
class Option:
    """A button: ``choice`` is what it sends, ``label`` plain text; ``drill`` a second "›"
    button that opens a unit instead of choosing it."""

    choice: str
    label: str
    drill: str | None = None
    chosen: bool = False


@dataclass(frozen=True)
class LocationView:
    latitude: float
    longitude: float
    distance_km: float | None  # None: neither the unit nor a unit above it has a centre
    far: bool | None
    radius_km: float | None


@dataclass(frozen=True)
class Recap:
    """What has been chosen so far (None: not yet)."""

    unit: str | None = None
    whole_unit: bool = False
    cadre: str | None = None
    task: str | None = None
    general_task: bool = False
    verdict: Verdict | None = None
    remark: str | None = None
    photos: int = 0
    location: LocationView | None = None


@dataclass(frozen=True)
class Screen:
    """The prompt of the current step."""

    step: str
    nonce: str
    version: int
    recap: Recap
    options: tuple[Option, ...] = ()
    # At the unit step: the unit whose units are listed (choosing it is an option too), and
    # the choice that goes up a level.
    this_unit: Option | None = None
    up: str | None = None
    more: bool = False  # a "More" button shows the next page
    can_go_back: bool = False
    error: str | None = None
    params: dict[str, object] = field(default_factory=dict)
    info: str | None = None  # e.g. a photo was kept, where a location is
    info_params: dict[str, object] = field(default_factory=dict)
    remark_max_length: int = 500
    max_photos: int = 5


async def cadres_of(ctx: Context, unit_id: int) -> list[Person]:
    """The unit's cadres, never the inspector themselves."""
    return [p for p in await ctx.uow.cadres.all([unit_id]) if p.id != ctx.actor.person_id]


async def tasks_of(ctx: Context, data: Mapping[str, Any]) -> list[tuple[KeyTask, Person]]:
    """The chosen cadre's active key tasks; for the whole unit, those of all its cadres."""
    cadres = await cadres_of(ctx, int(data["unit_id"]))
    cadre_id = data.get("cadre_id")
    if cadre_id is not None:
        cadres = [p for p in cadres if p.id == cadre_id]
    by_id = {p.id: p for p in cadres}
    tasks = await ctx.uow.cadres.tasks(by_id)
    return [(task, by_id[person_id]) for person_id in by_id
            for task in tasks.get(person_id, [])]


def km(value: float) -> str:
    """Kilometres as people say them: 0.3, 1.5, 2, 33.4, 120."""
    shown = f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return shown.removesuffix(".0")


def unit_name_label(unit: UnitLike, lang: str) -> str:
    return display_name(unit, lang)  # the name, not the code: an id nobody reads


def unit_label(tree: UnitTree, data: Mapping[str, Any], lang: str) -> str:
    unit = tree.by_id.get(int(data.get("unit_id") or 0))
    return unit_name_label(unit, lang) if unit is not None else "?"


def location_view(ctx: Context, data: Mapping[str, Any]) -> LocationView | None:
    where = data.get("location")
    if not where:
        return None
    latitude, longitude = float(where[0]), float(where[1])
    unit_id = data.get("unit_id")
    check = LocationCheck(None, None)
    if unit_id is not None and int(unit_id) in ctx.tree.by_id:
        check = check_location(ctx.tree, [int(unit_id)], latitude, longitude,
                               ctx.rules.default_radius_km)
    return LocationView(latitude, longitude, check.distance_km, check.far, check.radius_km)


def person_label(person: Person, lang: str) -> str:
    name = display_name(person, lang)
    return f"{name} · {person.position}" if person.position else name


async def recap(ctx: Context, data: Mapping[str, Any]) -> Recap:
    unit_id = data.get("unit_id")
    unit = unit_label(ctx.tree, data, ctx.lang) if unit_id is not None else None
    cadre = None
    cadre_id = data.get("cadre_id")
    if data.get("subject") and cadre_id is not None:
        person = await ctx.uow.cadres.get(int(cadre_id))
        cadre = person_label(person, ctx.lang) if person is not None else "?"
    task = None
    task_id = data.get("task_id")
    if data.get("task") and task_id is not None:
        found = await ctx.uow.cadres.task(int(task_id))
        task = found.title if found is not None else "?"
    verdict = data.get("verdict")
    return Recap(
        unit=unit,
        whole_unit=bool(data.get("subject")) and cadre_id is None,
        cadre=cadre,
        task=task,
        general_task=bool(data.get("task")) and task_id is None,
        verdict=Verdict(verdict) if verdict else None,
        remark=str(data["remark"]) if data.get("remark") else None,
        photos=len(data.get("photos") or []),
        location=location_view(ctx, data),
    )


def _page(options: list[Option], page: int) -> tuple[tuple[Option, ...], bool]:
    """One page of options (pages wrap around), and whether there are more."""
    if len(options) <= PAGE_SIZE:
        return tuple(options), False
    pages = (len(options) + PAGE_SIZE - 1) // PAGE_SIZE
    start = (page % pages) * PAGE_SIZE
    return tuple(options[start:start + PAGE_SIZE]), True


def _clip(label: str) -> str:
    return clip(label, LABEL_LENGTH)


async def screen_of(
    ctx: Context, dialogue: AdminDialogue, *, error: str | None = None,
    params: Mapping[str, object] | None = None, info: str | None = None,
    info_params: Mapping[str, object] | None = None,
) -> Screen:
    """The prompt of the dialogue's current step, with ``error`` (a text key) shown on it
    or ``info`` (e.g. that a photo was kept)."""
    data = dict(dialogue.data)
    step = dialogue.step
    page = int(data.get("page") or 0)
    options: list[Option] = []
    this_unit: Option | None = None
    up: str | None = None
    if step == "unit":
        this_unit, options, up = _unit_options(ctx, data.get("browse"))
    elif step == "subject":
        options = [Option(f"c{p.id}", _clip(person_label(p, ctx.lang)),
                          chosen=p.id == data.get("cadre_id"))
                   for p in await cadres_of(ctx, int(data["unit_id"]))]
    elif step == "task":
        whole = data.get("cadre_id") is None
        options = [Option(f"t{task.id}",
                          _clip(f"{task.title} · {display_name(person, ctx.lang)}"
                                if whole else task.title),
                          chosen=task.id == data.get("task_id"))
                   for task, person in await tasks_of(ctx, data)]
    shown, more = _page(options, page)
    return Screen(
        step=step, nonce=str(data["nonce"]), version=dialogue.version,
        recap=await recap(ctx, data), options=shown, this_unit=this_unit, up=up, more=more,
        can_go_back=bool(data.get("trail")),
        error=error, params=dict(params or {}), info=info, info_params=dict(info_params or {}),
        remark_max_length=ctx.rules.remark_max_length,
        max_photos=ctx.rules.max_photos,
    )


def _unit_options(ctx: Context,
                  browse: object) -> tuple[Option | None, list[Option], str | None]:
    """The units to choose from: the top of the inspector's scope, or inside ``browse``.

    Returns the opened unit (None at the top), the units listed, and the choice that goes
    up a level (None at the top).
    """
    at = ctx.tree.browse(ctx.actor.visible_units(ctx.tree, INSPECTOR_ROLES), browse)

    def option(unit: UnitLike) -> Option:
        return Option(f"u{unit.id}", _clip(unit_name_label(unit, ctx.lang)),
                      drill=f"n{unit.id}" if at.has_inside(unit) else None)

    listed = [option(u) for u in at.listed]
    if at.node is None:
        return None, listed, None
    up = None if at.up is None else ("n" if at.up == 0 else f"n{at.up}")
    return Option(f"u{at.node.id}", _clip(unit_name_label(at.node, ctx.lang))), listed, up

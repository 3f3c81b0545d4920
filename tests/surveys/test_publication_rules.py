"""The rules of publishing under four eyes that need no database: who may ask or approve,
what counts as one's own, and which version a request or an approval is about."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.models import AppraisalRun, AppraisalStatus, Role
from surveys.appraisal.publication import (
    PublicationRefused,
    chosen_draft,
    holds_everywhere,
    own_part,
)
from surveys.people.access import Actor

AT = datetime(2026, 12, 1, tzinfo=UTC)


def actor(*grants: tuple[Role, int | None]) -> Actor:
    return Actor(7, "Auditor Wang", tuple(grants))


@pytest.mark.parametrize(("grants", "role", "holds"), [
    (((Role.AUDITOR, None),), Role.AUDITOR, True),
    (((Role.AUDITOR, 3),), Role.AUDITOR, False),  # a township's auditor
    (((Role.AUDITOR, 3), (Role.AUDITOR, None)), Role.AUDITOR, True),
    (((Role.ADMIN, None),), Role.AUDITOR, False),
    (((Role.ADMIN, None), (Role.AUDITOR, None)), Role.ADMIN, True),
    ((), Role.AUDITOR, False),
])
def test_only_a_role_for_all_units_counts(grants: tuple[tuple[Role, int | None], ...],
                                          role: Role, holds: bool) -> None:
    assert holds_everywhere(actor(*grants), role) is holds


def test_nobody_is_a_role_holder() -> None:
    assert not holds_everywhere(None, Role.AUDITOR)


@pytest.mark.parametrize(("approver", "requested_by", "computed_by", "part"), [
    ("person:2", "person:1", "cli", None),
    ("person:1", "person:1", "cli", "asked for"),
    ("person:3", "person:1", "person:3", "computed"),
    ("person:1", "person:1", "person:1", "asked for"),
    ("person:10", "person:1", "person:100", None),  # labels compare whole
])
def test_ones_own_request_or_run(approver: str, requested_by: str, computed_by: str,
                                 part: str | None) -> None:
    assert own_part(approver, requested_by, computed_by) == part


def run(version: int, status: AppraisalStatus) -> AppraisalRun:
    return AppraisalRun(id=version, period="2026-Q4", version=version, status=status,
                        computed_at=AT, computed_by="cli", config_hash="c", results_hash="r",
                        summary={})


def test_the_latest_draft_or_the_version_named() -> None:
    runs = [run(1, AppraisalStatus.SUPERSEDED), run(2, AppraisalStatus.PUBLISHED),
            run(3, AppraisalStatus.DRAFT)]
    assert chosen_draft(runs, "2026-Q4", None).version == 3
    assert chosen_draft(runs, "2026-Q4", 3).version == 3


@pytest.mark.parametrize(("statuses", "version", "key", "message"), [
    ((), None, "no_run", "no appraisal has been computed for 2026-Q4"),
    ((AppraisalStatus.PUBLISHED,), None, "not_draft", "nothing new to publish"),
    ((AppraisalStatus.SUPERSEDED, AppraisalStatus.DRAFT), 1, "not_draft",
     "version 1 of 2026-Q4 is superseded; only a draft"),
    ((AppraisalStatus.DRAFT,), 2, "no_version", "has no version 2 (versions: 1)"),
])
def test_no_draft_to_publish(statuses: tuple[AppraisalStatus, ...], version: int | None,
                             key: str, message: str) -> None:
    runs = [run(i + 1, status) for i, status in enumerate(statuses)]
    with pytest.raises(PublicationRefused, match=message.replace("(", r"\(").replace(")", r"\)")
                       ) as refused:
        chosen_draft(runs, "2026-Q4", version)
    assert refused.value.key == key

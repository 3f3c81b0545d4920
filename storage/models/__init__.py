"""Typed SQLAlchemy 2 models.

Anonymity rule: ``responses`` and ``answers`` hold a pseudonymous respondent key, never a
Telegram user or chat id. Telegram ids live only in ``contacts``, which is used to send
messages and nothing else.
"""

from __future__ import annotations

from storage.models.appraisal import (
    AnomalyFlag,
    Appeal,
    AppealStatus,
    AppraisalResult,
    AppraisalRun,
    AppraisalStatus,
    KpiValue,
    PublicationRequest,
    PublicationStatus,
    TextScore,
)
from storage.models.base import (
    ANSWER_SLOTS,
    NAMING_CONVENTION,
    Base,
    BigId,
    Created,
    Located,
    UTCDateTime,
    _enum,
    answer_id,
    random_id,
)
from storage.models.campaigns import (
    LIVE_STATUSES,
    Campaign,
    CampaignRun,
    CampaignStatus,
    EntryPoint,
    OutboxMessage,
    OutboxStatus,
    SurveyVersion,
)
from storage.models.cases import (
    Case,
    CaseDraft,
    CaseMessage,
    CaseOutcome,
    CasePhoto,
    CaseSeal,
    CaseStatus,
    CommentMove,
)
from storage.models.fieldwork import (
    CadreInvite,
    Evidence,
    Inspection,
    KeyTask,
    Note,
    NoteStatus,
    Verdict,
)
from storage.models.people import (
    AdminDialogue,
    Contact,
    Person,
    PersonRole,
    Role,
    Subscription,
    Unit,
)
from storage.models.records import (
    AuditEvent,
    ProcessedUpdate,
    Revision,
)
from storage.models.responses import (
    Answer,
    RespondentSession,
    Response,
    ResponseStatus,
)
from storage.models.web import SignInAttempt, SignInLink, WebSession

__all__ = [
    "ANSWER_SLOTS",
    "LIVE_STATUSES",
    "NAMING_CONVENTION",
    "AdminDialogue",
    "AnomalyFlag",
    "Answer",
    "Appeal",
    "AppealStatus",
    "AppraisalResult",
    "AppraisalRun",
    "AppraisalStatus",
    "AuditEvent",
    "Base",
    "BigId",
    "CadreInvite",
    "Campaign",
    "CampaignRun",
    "CampaignStatus",
    "Case",
    "CaseDraft",
    "CaseMessage",
    "CaseOutcome",
    "CasePhoto",
    "CaseSeal",
    "CaseStatus",
    "CommentMove",
    "Contact",
    "Created",
    "EntryPoint",
    "Evidence",
    "Inspection",
    "KeyTask",
    "KpiValue",
    "Located",
    "Note",
    "NoteStatus",
    "OutboxMessage",
    "OutboxStatus",
    "Person",
    "PersonRole",
    "ProcessedUpdate",
    "PublicationRequest",
    "PublicationStatus",
    "RespondentSession",
    "Response",
    "ResponseStatus",
    "Revision",
    "Role",
    "SignInAttempt",
    "SignInLink",
    "Subscription",
    "SurveyVersion",
    "TextScore",
    "UTCDateTime",
    "Unit",
    "Verdict",
    "WebSession",
    "_enum",
    "answer_id",
    "random_id",
]

"""The ranking page's downloads: a period's published results as CSV or XLSX
(``/ranking/PERIOD/export.csv``, ``.xlsx``; ``?unit=ID`` as the page narrows), with the same
columns as ``civicpulse export appraisal`` but only the rows of the reader's scope: the units
the ranking page shows them and the cadres of those units.

Thin like the pages: one use case (:func:`surveys.appraisal.exports.scoped_appraisal`) in one
transaction, then the file is written off the event loop (a county's workbook is a few
thousand rows). Anything the page would not show (another township, a period not published,
someone with no admin or auditor role) is the same 404.
"""

from __future__ import annotations

import asyncio
import io

from aiohttp import web

from handlers.web.pages import PERIOD, current, message, request_language
from handlers.web.security import web_deps
from storage.ids import parse_id
from surveys.appraisal.exports import (
    AppraisalFormat,
    AppraisalTables,
    scoped_appraisal,
    write_appraisal,
)
from surveys.people.caller import Refused

CONTENT_TYPES: dict[AppraisalFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def routes() -> list[web.RouteDef]:
    return [web.get("/ranking/{period}/export.{fmt:csv|xlsx}", export)]


def _file(tables: AppraisalTables, fmt: AppraisalFormat) -> bytes:
    out = io.BytesIO()
    write_appraisal(tables, fmt, out)
    return out.getvalue()


async def export(request: web.Request) -> web.StreamResponse:
    viewer = await current(request)
    if viewer is None:
        return message(request, "web.signed_out", request_language(request), 401)
    fmt: AppraisalFormat = "xlsx" if request.match_info["fmt"] == "xlsx" else "csv"
    period = request.match_info["period"]
    unit = request.query.get("unit")
    unit_id = parse_id(unit) if unit is not None else None
    if not PERIOD.match(period) or (unit is not None and unit_id is None):
        return message(request, "web.not_found", viewer.lang, 404, viewer)
    w = web_deps(request)
    try:
        async with w.deps.db.transaction() as uow:
            tables = await scoped_appraisal(uow, viewer.caller, period, unit_id,
                                            w.deps.published)
    except Refused:
        return message(request, "web.not_found", viewer.lang, 404, viewer)
    body = await asyncio.to_thread(_file, tables, fmt)
    return web.Response(body=body, headers={
        "Content-Type": CONTENT_TYPES[fmt],
        "Content-Disposition": f'attachment; filename="appraisal-{tables.period}.{fmt}"'})

"""Stopping the bot lets the job queue's running jobs finish (the campaign scheduler's sync,
the maintenance jobs): the job queue's own stop would cancel them, and a job cancelled while
it takes a database connection leaks the connection; one cancelled mid-transaction loses its
work until the next start."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import background_of
from storage.models import Contact
from storage.uow import Database
from tests.e2e.conftest import Bot

pytestmark = pytest.mark.e2e


async def test_a_job_running_at_stop_finishes_its_transaction(bot: Bot, db: Database) -> None:
    application = bot.application
    assert application is not None and application.job_queue is not None
    began = asyncio.Event()
    finished: list[str] = []

    async def slow_job(context: Any) -> None:
        began.set()
        await asyncio.sleep(0.3)  # the stop comes now
        async with db.transaction() as uow:
            uow.session.add(Contact(telegram_user_id=77001, chat_id=77001))
        finished.append("committed")

    jobs = background_of(application).jobs
    # However late the loop comes to it (a busy CI machine once stalled it for 3.4 s, past
    # APScheduler's default one-second misfire window, and the job was skipped).
    application.job_queue.run_once(jobs.tracked(slow_job), when=0.01, name="slow",
                                   job_kwargs={"misfire_grace_time": None})
    await asyncio.wait_for(began.wait(), 5)
    await bot.stop()

    assert finished == ["committed"]
    async with db.reading() as uow:
        count = await uow.session.scalar(
            select(func.count()).select_from(Contact).where(Contact.telegram_user_id == 77001))
    assert count == 1


async def test_no_job_starts_once_the_stop_has_begun(bot: Bot) -> None:
    application = bot.application
    assert application is not None and application.job_queue is not None
    ran: list[str] = []
    holding = asyncio.Event()

    async def long_job(context: Any) -> None:
        holding.set()
        await asyncio.sleep(0.5)
        ran.append("long")

    async def late_job(context: Any) -> None:
        ran.append("late")

    jobs = background_of(application).jobs
    application.job_queue.run_once(jobs.tracked(long_job), when=0.01, name="long",
                                   job_kwargs={"misfire_grace_time": None})
    # Due while the stop waits for the long one: paused, it never runs (and is not cut off
    # halfway either).
    application.job_queue.run_once(jobs.tracked(late_job), when=0.3, name="late")
    await asyncio.wait_for(holding.wait(), 5)
    await bot.stop()
    await asyncio.sleep(0.3)
    assert ran == ["long"]

"""A poll comment turned into a report moves out of the poll (surveys/cases/comments.py), on
SQLite and PostgreSQL: sealed into the draft, then into a row of its own, and blanked by the
supervision step as if it had been skipped."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from storage.models import Answer, CommentMove, Response, ResponseStatus, TextScore
from storage.models.base import answer_id, random_id
from storage.uow import Database
from surveys.cases import comments, reporting
from surveys.respondents.anonymity import respondent_key
from tests.cases.test_reporting import DESK, NOW, RESIDENT, caller, draft, run, send, unit_id
from tests.conftest import SECRET, seed_campaign

WORDS = "The bins by the school gate are full"


async def answered(db: Database, user: int = RESIDENT, comment: str = WORDS,
                   shuffled: bool = False, window: int = 0) -> tuple[int, int]:
    """A completed poll of the willow campaign with a low rating and a scored comment;
    returns the response's and the comment answer's ids."""
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
        at = NOW.replace(minute=0, second=0) - timedelta(minutes=10 * window)
        response = Response(campaign_id=campaign.id, survey_id=campaign.survey_id,
                            respondent_key=respondent_key(SECRET, campaign.id, user),
                            status=ResponseStatus.COMPLETED, language="en", started_at=at,
                            completed_at=at, shuffled=shuffled)
        uow.session.add(response)
        await uow.session.flush()
        rating = Answer(id=answer_id(response.id), response_id=response.id,
                        question_id="overall", question_type="rating", value_number=1.0)
        text = Answer(id=answer_id(response.id, [rating.id]), response_id=response.id,
                      question_id="comment", question_type="text", value_text=comment)
        uow.session.add_all([rating, text])
        await uow.session.flush()
        uow.session.add(TextScore(source="answer", source_id=text.id, analyser="test",
                                  language="en", polarity=-0.5, label="neg", scored_at=at))
        return response.id, text.id


async def offered(db: Database) -> reporting.Card:
    outcome = await run(db, reporting.start_from_offer, caller(), await unit_id(db), None, True,
                        desk=DESK)
    assert isinstance(outcome, reporting.DraftOutcome)
    return outcome.card


async def moves(db: Database) -> list[CommentMove]:
    async with db.reading() as uow:
        return list((await uow.session.scalars(select(CommentMove))).all())


async def answer(db: Database, answer_id_: int) -> Answer:
    async with db.reading() as uow:
        found = await uow.session.get(Answer, answer_id_)
        assert found is not None
        return found


async def scores(db: Database) -> list[int]:
    async with db.reading() as uow:
        return list((await uow.session.scalars(select(TextScore.source_id))).all())


async def test_a_comment_sent_as_a_report_leaves_the_poll(db: Database) -> None:
    await seed_campaign(db)
    response_id, comment_id = await answered(db)
    card = await offered(db)
    assert (card.text, card.origin) == (WORDS, "comment")
    kept = await draft(db)
    assert kept is not None and str(comment_id) not in json.dumps(kept.data), "sealed"
    opened = await send(db, card)
    async with db.reading() as uow:
        case = await uow.cases.by_number(opened.number)
        # "poll", as any case from the end-of-poll offer: "comment" would single it out.
        assert case is not None and (case.text, case.origin) == (WORDS, "poll")
    [row] = await moves(db)
    assert str(comment_id) not in row.sealed and str(response_id) not in row.sealed
    # Until the sweep, the comment is still in the poll.
    assert (await answer(db, comment_id)).value_text == WORDS
    assert await run(db, comments.move, secret=SECRET) == 1
    blank = await answer(db, comment_id)
    assert (blank.skipped, blank.value_text) == (True, None), "as if skipped"
    assert await scores(db) == [], "its sentiment goes with it"
    assert await moves(db) == []
    assert await run(db, comments.move, secret=SECRET) == 0
    async with db.reading() as uow:
        texts = set(await uow.session.scalars(select(Answer.value_text)))
    assert WORDS not in texts


async def test_a_comment_replaced_by_other_words_stays_in_the_poll(db: Database) -> None:
    await seed_campaign(db)
    _response_id, comment_id = await answered(db)
    await offered(db)
    texted = await run(db, reporting.draft_text, caller(), "Actually: the lamp is dark",
                       desk=DESK)
    assert isinstance(texted, reporting.DraftOutcome)
    assert texted.card.origin == "poll", "no longer says the comment is the text"
    kept = await draft(db)
    assert kept is not None and comments.FIELD not in kept.data
    await send(db, texted.card)
    assert await moves(db) == []
    assert (await answer(db, comment_id)).value_text == WORDS


async def test_a_response_reshuffled_already_is_reshuffled_again_among_its_window(
        db: Database) -> None:
    await seed_campaign(db)
    response_id, comment_id = await answered(db, shuffled=True)
    peer, _ = await answered(db, user=RESIDENT + 1, comment="Fine", shuffled=True)
    elsewhere, _ = await answered(db, user=RESIDENT + 2, comment="Fine", shuffled=True,
                                  window=1)
    await send(db, await offered(db))
    assert await run(db, comments.move, secret=SECRET) == 1
    async with db.reading() as uow:
        shuffled = {i: s for i, s in (await uow.session.execute(
            select(Response.id, Response.shuffled))).all()}
    assert shuffled == {response_id: False, peer: False, elsewhere: True}
    assert (await answer(db, comment_id)).skipped


async def test_a_move_sealed_under_another_secret_is_left_alone(db: Database) -> None:
    await seed_campaign(db)
    _response_id, comment_id = await answered(db)
    async with db.transaction() as uow:
        move_id = random_id()
        await uow.cases.add_move(move_id, comments._seal(b"another-secret-0123456789abcdef!",
                                                         f"move:{move_id}", (comment_id,)))
    assert await run(db, comments.move, secret=SECRET) == 0
    assert len(await moves(db)) == 1
    assert (await answer(db, comment_id)).value_text == WORDS

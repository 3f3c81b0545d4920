"""unlinkable responses

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Nothing on the response side may be joined to a person without the secret key
(docs/privacy.md):

- residents' responses and all answers get random ids (below 2**53), renumbered here, so the
  k-th new contact is no longer the k-th response;
- responses keep when they were begun and finished only to ten minutes, plus how long they
  took (``duration_s``); ``responses.updated_at`` and ``answers.answered_at`` go;
- ``contacts`` loses its pointer to the poll being answered (and that poll's prompt message):
  that lives in ``respondent_sessions`` under a keyed hash. The migration cannot compute those
  keys (it has no secret), so a resident halfway through a poll when this runs continues it
  from the poll's buttons or by opening its link again, as after a week's pause.
"""
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RESOLUTION = 600  # seconds: the default privacy.time_resolution_minutes
_ANSWER_SLOTS = 512  # storage.models.ANSWER_SLOTS when this was written
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The foreign keys that point at the ids being renumbered.
_CHILD_KEYS = (
    ('answers', 'fk_answers_response_id_responses', 'response_id'),
    ('anomaly_flags', 'fk_anomaly_flags_response_id_responses', 'response_id'),
)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    op.create_table(
        'respondent_sessions',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('prompt_message_id', sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_respondent_sessions_campaign_id_campaigns'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_respondent_sessions')),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_contacts_active_campaign_id_campaigns', type_='foreignkey')
        batch_op.drop_column('active_campaign_id')
        batch_op.drop_column('prompt_message_id')

    if postgres:
        for table, name, _column in _CHILD_KEYS:
            op.drop_constraint(name, table, type_='foreignkey')
        for table, column in (('responses', 'id'), ('answers', 'id'),
                              ('answers', 'response_id'), ('anomaly_flags', 'response_id'),
                              ('text_scores', 'source_id')):
            op.alter_column(table, column, type_=sa.BigInteger(), existing_nullable=False)
        for table in ('responses', 'answers'):
            op.alter_column(table, 'id', server_default=None, existing_nullable=False)
            op.execute(f'DROP SEQUENCE IF EXISTS {table}_id_seq')
        op.alter_column('responses', 'started_at', server_default=None,
                        existing_nullable=False)

    op.add_column('responses', sa.Column('duration_s', sa.Integer(), nullable=True))
    op.add_column('responses', sa.Column('sealed_start', sa.String(length=64), nullable=True))
    op.add_column('responses', sa.Column('shuffled', sa.Boolean(), server_default='0',
                                         nullable=False))
    _coarsen_times(bind)
    # Native DROP COLUMN (SQLite 3.35+): recreating these tables would copy every answer.
    op.drop_column('responses', 'updated_at')
    op.drop_column('answers', 'answered_at')

    _renumber(bind, 'responses', 'person_id IS NULL',
              [('answers', 'response_id', None), ('anomaly_flags', 'response_id', None)])
    _renumber_answers(bind)
    if postgres:
        for table, name, column in _CHILD_KEYS:
            op.create_foreign_key(name, table, 'responses', [column], ['id'],
                                  ondelete='CASCADE')


def _coarse(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int((moment - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % _RESOLUTION)


def _coarsen_times(bind: sa.engine.Connection) -> None:
    """Durations from the exact times, then the times rounded down to the resolution."""
    sqlite = bind.dialect.name == 'sqlite'
    rows = bind.execute(sa.text('SELECT id, started_at, completed_at FROM responses')).all()
    changes = []
    for rid, started, completed in rows:
        started, completed = _as_datetime(started), _as_datetime(completed)
        duration = (max(0, round((completed - started).total_seconds()))
                    if started is not None and completed is not None else None)
        changes.append({
            'id': rid, 'duration': duration,
            'started': _stored(_coarse(started), sqlite) if started is not None else None,
            'completed': _stored(_coarse(completed), sqlite) if completed is not None else None,
        })
    if changes:
        bind.execute(sa.text(
            'UPDATE responses SET duration_s = :duration, started_at = :started, '
            'completed_at = :completed WHERE id = :id'), changes)


def _as_datetime(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or UTC) if value is not None else None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def _stored(moment: datetime, sqlite: bool) -> datetime | str:
    # SQLite keeps naive UTC text (as storage.models.UTCDateTime writes it).
    return moment.replace(tzinfo=None).isoformat(sep=' ') if sqlite else moment


def _renumber(bind: sa.engine.Connection, table: str, where: str | None,
              children: list[tuple[str, str, str | None]]) -> None:
    """Give the rows of ``table`` random ids, and the rows that point at them the same."""
    condition = f' WHERE {where}' if where else ''
    old_ids = [row[0] for row in bind.execute(sa.text(f'SELECT id FROM {table}{condition}'))]
    if not old_ids:
        return
    taken = {row[0] for row in bind.execute(sa.text(f'SELECT id FROM {table}'))}
    mapping = []
    for old in old_ids:
        new = secrets.randbelow(2**53 - 1) + 1
        while new in taken:
            new = secrets.randbelow(2**53 - 1) + 1
        taken.add(new)
        mapping.append({'old': old, 'new': new})
    op.create_table('renumbering', sa.Column('old', sa.BigInteger(), primary_key=True),
                    sa.Column('new', sa.BigInteger(), nullable=False))
    bind.execute(sa.text('INSERT INTO renumbering (old, new) VALUES (:old, :new)'), mapping)
    for child, column, child_where in [*children, (table, 'id', where)]:
        extra = f' AND {child_where}' if child_where else ''
        bind.execute(sa.text(
            f'UPDATE {child} SET {column} = (SELECT new FROM renumbering WHERE old = {column}) '
            f'WHERE {column} IN (SELECT old FROM renumbering){extra}'))
    op.drop_table('renumbering')


def _renumber_answers(bind: sa.engine.Connection) -> None:
    """Each answer's id becomes its response's id times 512 plus a slot (as
    storage.models.answer_id gives them), so a response's answers stay together."""
    rows = bind.execute(sa.text('SELECT id, response_id FROM answers ORDER BY response_id, id'))
    mapping, slot, last = [], 0, None
    for old, response_id in rows:
        slot = slot + 1 if response_id == last else 0
        last = response_id
        mapping.append({'old': old, 'new': response_id * _ANSWER_SLOTS + slot})
    if not mapping:
        return
    # Through numbers no id uses (negative), so no new id meets an old one on the way.
    op.create_table('renumbering', sa.Column('old', sa.BigInteger(), primary_key=True),
                    sa.Column('new', sa.BigInteger(), nullable=False))
    bind.execute(sa.text('INSERT INTO renumbering (old, new) VALUES (:old, :new)'), mapping)
    for table, column, where in (('text_scores', 'source_id', " AND source = 'answer'"),
                                 ('answers', 'id', '')):
        bind.execute(sa.text(
            f'UPDATE {table} SET {column} = -(SELECT new FROM renumbering WHERE old = {column}) '
            f'WHERE {column} IN (SELECT old FROM renumbering){where}'))
        bind.execute(sa.text(f'UPDATE {table} SET {column} = -{column} WHERE {column} < 0'))
    op.drop_table('renumbering')


def downgrade() -> None:
    # The old ids and exact times are gone for good; the columns come back empty or
    # approximated (updated_at from the coarse times).
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    # Batch mode: SQLite adds a column with a non-constant default only by copying the table.
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(timezone=True),
                                      server_default=sa.func.now(), nullable=False))
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True),
                                      server_default=sa.func.now(), nullable=False))
    op.execute('UPDATE responses SET updated_at = COALESCE(completed_at, started_at)')
    op.drop_column('responses', 'shuffled')
    op.drop_column('responses', 'sealed_start')
    op.drop_column('responses', 'duration_s')
    if postgres:
        op.alter_column('responses', 'started_at', server_default=sa.func.now(),
                        existing_nullable=False)
        for table in ('responses', 'answers'):
            # Ids stay as they are (BIGINT); new rows get numbers after the largest.
            start = bind.scalar(sa.text(f'SELECT COALESCE(MAX(id), 0) + 1 FROM {table}'))
            op.execute(f'CREATE SEQUENCE {table}_id_seq START {int(start)} OWNED BY {table}.id')
            op.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT "
                       f"nextval('{table}_id_seq')")
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_campaign_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prompt_message_id', sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key('fk_contacts_active_campaign_id_campaigns', 'campaigns',
                                    ['active_campaign_id'], ['id'], ondelete='SET NULL')
    op.drop_table('respondent_sessions')

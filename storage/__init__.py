"""The database: typed models, one repository module per noun, the unit of work, the clock,
and Alembic migrations. Repositories never commit; the unit of work does."""

"""Storage: SQLAlchemy models, engines, migrations and the idempotent batch upsert."""

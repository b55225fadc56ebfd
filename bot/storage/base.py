"""The declarative base every table of the project shares, its key type and UTC helper."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, MetaData
from sqlalchemy.orm import declarative_base

# Stable constraint names so that Alembic migrations work the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
Base = declarative_base(metadata=metadata)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
Id = BigInteger().with_variant(Integer(), "sqlite")


def utc(value: datetime) -> datetime:
    """Returns an aware UTC datetime (SQLite hands back naive ones)."""
    from datetime import timezone

    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

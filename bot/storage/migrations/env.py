"""Alembic environment: runs the archive's migrations against the configured database."""
from alembic import context
from sqlalchemy import create_engine

from bot.storage.base import metadata
import bot.archive.models  # noqa: F401  (every table shares the metadata)
import bot.content.models  # noqa: F401
import bot.channels.models  # noqa: F401
import bot.staff.models  # noqa: F401
import bot.dialogue.crisis  # noqa: F401
import bot.training.models  # noqa: F401

config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = create_engine(config.get_main_option("sqlalchemy.url"), future=True)
    with connectable.connect() as connection:
        # Batch mode lets later migrations alter tables on SQLite too.
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    connectable.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

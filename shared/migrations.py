"""Alembic helpers every service's migrations call, so env.py files stay a few lines."""

from __future__ import annotations

from alembic import context, op
from sqlalchemy import MetaData, engine_from_config, pool

from shared.audit import audit_metadata
from shared.messaging.tables import messaging_metadata


def run_env(target_metadata: MetaData) -> None:
    """The body of a service's ``migrations/env.py`` (online and offline modes)."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")

    def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
        return not (type_ == "table" and (name in messaging_metadata.tables
                                          or name in audit_metadata.tables))

    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connectable = config.attributes.get("connection") or engine_from_config(
        config.get_section(config.config_ini_section) or {"sqlalchemy.url": url},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


def create_messaging_tables() -> None:
    """Outbox and inbox tables (with their indexes), created in each service's first migration."""
    messaging_metadata.create_all(bind=op.get_bind(), checkfirst=False)


def drop_messaging_tables() -> None:
    messaging_metadata.drop_all(bind=op.get_bind(), checkfirst=False)


def create_audit_table() -> None:
    """The audit log (shared.audit), created by the services that keep one."""
    audit_metadata.create_all(bind=op.get_bind(), checkfirst=False)


def drop_audit_table() -> None:
    audit_metadata.drop_all(bind=op.get_bind(), checkfirst=False)


def create_inbox_age_index() -> None:
    """The inbox's index by ``applied_at``, which retention deletes by. A database created
    since has it from its first migration (the live messaging tables), hence
    ``if_not_exists``."""
    op.create_index("ix_inbox_applied_at", "inbox", ["applied_at"], if_not_exists=True)


def drop_inbox_age_index() -> None:
    op.drop_index("ix_inbox_applied_at", table_name="inbox", if_exists=True)

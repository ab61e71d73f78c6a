"""Settings base: one pydantic-settings class per service derives from it.

Deployment-wide settings (environment, JWT secret, Kafka) are read from unprefixed variables
such as ``KAFKA_BOOTSTRAP_SERVERS``; service-specific ones carry the service's prefix
(``ORDERS_DATABASE_URL``).
"""

from __future__ import annotations

from typing import Literal

from limits import parse_many
from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_JWT_SECRET = "sharefab-development-secret-change-me-0123456789"  # noqa: S105

Environment = Literal["development", "test", "production"]


def _env(name: str) -> AliasChoices:
    return AliasChoices(name, name.lower())


class ServiceSettings(BaseSettings):
    """Fields every service has. Subclasses set ``env_prefix`` and ``database_url``'s default."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    service_name: str = "sharefab"
    environment: Environment = Field("development", validation_alias=_env("SHAREFAB_ENV"))
    jwt_secret: str = Field(DEFAULT_JWT_SECRET, validation_alias=_env("JWT_SECRET"))
    jwt_ttl_hours: float = Field(12.0, validation_alias=_env("JWT_TTL_HOURS"))
    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"))
    log_json: bool = Field(False, validation_alias=_env("LOG_JSON"))
    # FastAPI's own OpenTelemetry spans, metrics and logs, sent to the OTel providers the
    # process configures. Off: the services' metrics are Prometheus's (/metrics), and the
    # check whether a provider is configured costs each request a few percent of its time.
    otel_telemetry: bool = Field(False, validation_alias=_env("OTEL_TELEMETRY"))
    # Freeze the started service's objects out of the garbage collector's full passes
    # (shared/heap.py); off only to compare.
    gc_freeze: bool = Field(True, validation_alias=_env("GC_FREEZE"))

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:19092", validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS")
    )
    kafka_topic_partitions: int = Field(6, validation_alias=_env("KAFKA_TOPIC_PARTITIONS"))
    kafka_replication_factor: int = Field(1, validation_alias=_env("KAFKA_REPLICATION_FACTOR"))
    # Kafka's own defaults suit a production cluster; short values make a local broker's first
    # consumer-group join fast (see the project's broker notes).
    kafka_session_timeout_ms: int = Field(10000, validation_alias=_env("KAFKA_SESSION_TIMEOUT_MS"))
    kafka_heartbeat_interval_ms: int = Field(
        3000, validation_alias=_env("KAFKA_HEARTBEAT_INTERVAL_MS")
    )
    kafka_max_poll_interval_ms: int = Field(
        300000, validation_alias=_env("KAFKA_MAX_POLL_INTERVAL_MS")
    )
    kafka_fetch_max_wait_ms: int = Field(500, validation_alias=_env("KAFKA_FETCH_MAX_WAIT_MS"))
    # Consumer offsets are committed to the broker at most this often (0: after every polled
    # batch); a crash re-delivers what was applied since, which the inbox skips.
    kafka_commit_interval_ms: int = Field(1000, ge=0,
                                          validation_alias=_env("KAFKA_COMMIT_INTERVAL_MS"))
    kafka_consumer_enabled: bool = Field(True, validation_alias=_env("KAFKA_CONSUMER_ENABLED"))
    outbox_relay_enabled: bool = Field(True, validation_alias=_env("OUTBOX_RELAY_ENABLED"))

    # Resource limits (shared/limits.py): body size in bytes, per-firm rate ("" = off).
    max_body_bytes: int = Field(2 * 1024 * 1024, gt=0, validation_alias=_env("MAX_BODY_BYTES"))
    rate_limit: str = Field("1000/second;50000/minute", validation_alias=_env("RATE_LIMIT"))
    rate_limit_storage_uri: str = Field("memory://",
                                        validation_alias=_env("RATE_LIMIT_STORAGE_URI"))

    database_url: str = "sqlite:///var/sharefab.db"
    # How long a SQLite writer waits for another process's lock before the API answers 503.
    sqlite_busy_timeout_s: float = Field(30.0, gt=0,
                                         validation_alias=_env("SQLITE_BUSY_TIMEOUT_S"))
    outbox_poll_interval_s: float = 0.5
    consumer_max_retries: int = 3
    # Retention (shared/messaging/retention.py), in days; 0 keeps the table for ever.
    outbox_retention_days: float = Field(14.0, ge=0,
                                         validation_alias=_env("OUTBOX_RETENTION_DAYS"))
    inbox_retention_days: float = Field(30.0, ge=0,
                                        validation_alias=_env("INBOX_RETENTION_DAYS"))
    retention_interval_s: float = Field(3600.0, gt=0,
                                        validation_alias=_env("RETENTION_INTERVAL_S"))

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> ServiceSettings:
        if self.environment != "development" and self.jwt_secret == DEFAULT_JWT_SECRET:
            raise ValueError(
                f"JWT_SECRET is the development default; set a secret of your own "
                f"for SHAREFAB_ENV={self.environment}"
            )
        if len(self.jwt_secret.encode()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 bytes for HS256")
        if self.rate_limit.strip():
            parse_many(self.rate_limit)  # raises ValueError naming the bad limit
        return self

    @model_validator(mode="after")
    def _inbox_outlives_outbox(self) -> ServiceSettings:
        if self.inbox_retention_days and (
                not self.outbox_retention_days
                or self.inbox_retention_days < self.outbox_retention_days):
            raise ValueError(
                "INBOX_RETENTION_DAYS must be 0 (keep) or at least OUTBOX_RETENTION_DAYS: an "
                "event replayed from the outbox must still be in its consumers' inboxes")
        return self

    @property
    def bootstrap_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap_servers.split(",") if s.strip()]


def env_names(settings_cls: type[BaseSettings]) -> set[str]:
    """Every environment variable name a settings class reads (for config checks and docs)."""
    prefix = settings_cls.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, field in settings_cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(a) for a in alias.choices if str(a).isupper())
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{name}".upper())
    return names

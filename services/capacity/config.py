"""Settings of the capacity service (environment variables prefixed ``CAPACITY_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CAPACITY_", extra="ignore", populate_by_name=True)

    service_name: str = "capacity"
    database_url: str = "sqlite:///var/capacity.db"
    hold_ttl_hours: float = Field(24.0, gt=0, description="how long a held reservation lasts")
    expiry_interval_s: float = Field(30.0, gt=0,
                                     description="how often held reservations are checked for "
                                                 "expiry")

"""infra/docker-compose.yml must set only settings the services read, and every one they need."""

import importlib
from pathlib import Path

import pytest
import yaml

from shared.settings import env_names

COMPOSE = Path(__file__).resolve().parents[2] / "infra" / "docker-compose.yml"
SERVICES = ["orders", "capacity", "matcher"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _settings_class(service: str):
    return importlib.import_module(f"services.{service}.config").Settings


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_is_a_setting_of_that_service(compose, service):
    env = compose["services"][service]["environment"]
    unknown = set(env) - env_names(_settings_class(service))
    assert not unknown, f"{service} sets variables its Settings does not read: {sorted(unknown)}"


@pytest.mark.parametrize("service", SERVICES)
def test_service_runs_its_own_app_on_its_own_database(compose, service):
    spec = compose["services"][service]
    env = spec["environment"]
    assert f"services.{service}.bootstrap:create_app" in spec["command"]
    assert env[f"{service.upper()}_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env[f"{service.upper()}_DATABASE_URL"].endswith(f"/{service}")
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["SHAREFAB_ENV"] == "production"
    assert "JWT_SECRET" in env


def test_databases_exist_for_each_service():
    init = (COMPOSE.parent / "postgres" / "init.sql").read_text()
    for service in SERVICES:
        assert f"CREATE DATABASE {service};" in init


def test_kafka_runs_in_kraft_mode_without_auto_created_topics(compose):
    kafka = compose["services"]["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


@pytest.mark.parametrize("service", SERVICES)
def test_compose_values_validate_against_the_settings(compose, service, monkeypatch):
    for key, value in compose["services"][service]["environment"].items():
        value = str(value).replace("${POSTGRES_PASSWORD}", "pw")
        if value.startswith("${JWT_SECRET"):
            value = "a-production-secret-of-at-least-32-bytes"
        monkeypatch.setenv(key, value)
    settings = _settings_class(service)()
    assert settings.environment == "production"
    assert settings.database_url.endswith(f"@postgres:5432/{service}")
    assert settings.bootstrap_servers == ["kafka:9092"]

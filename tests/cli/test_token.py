from typer.testing import CliRunner

from shared.auth import Role, decode_token
from shared.settings import DEFAULT_JWT_SECRET
from sharefab_cli.main import app

runner = CliRunner()


def test_token_prints_a_token_the_services_accept():
    result = runner.invoke(app, ["token", "--firm", "firm-b1", "--role", "buyer",
                                 "--cluster", "qhd-auto", "--cluster", "tangshan",
                                 "--ttl-hours", "2"])
    assert result.exit_code == 0, result.output
    principal = decode_token(DEFAULT_JWT_SECRET, result.stdout.strip())
    assert principal.firm_id == "firm-b1" and principal.role is Role.BUYER
    assert principal.clusters == ("qhd-auto", "tangshan")


def test_token_with_an_unknown_role_is_refused():
    result = runner.invoke(app, ["token", "--firm", "f", "--role", "admin"])
    assert result.exit_code == 2


def test_token_signed_with_the_configured_secret(monkeypatch):
    secret = "another-secret-of-at-least-32-bytes-long"
    monkeypatch.setenv("JWT_SECRET", secret)
    result = runner.invoke(app, ["token", "--firm", "platform", "--role", "operator"])
    assert decode_token(secret, result.stdout.strip()).role is Role.OPERATOR


def test_default_secret_outside_development_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SHAREFAB_ENV", "production")
    result = runner.invoke(app, ["token", "--firm", "platform", "--role", "operator"])
    assert result.exit_code == 2
    assert "development default" in result.output
    assert "Traceback" not in result.output

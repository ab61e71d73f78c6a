"""Every operator command against a closed port: one clear sentence, exit code 1."""

import pytest
from typer.testing import CliRunner

from sharefab_cli.main import app
from sharefab_cli.stack import free_port

runner = CliRunner()


@pytest.mark.parametrize("command", [["stats"], ["match-runs"], ["at-risk"],
                                     ["replay", "run_x"]])
def test_a_matcher_that_is_down(command):  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = runner.invoke(app, [*command, "--matcher-url", url])
    assert result.exit_code == 1
    assert f"cannot reach the matcher service at {url} (connection refused)" in result.stderr
    assert "sharefab run" in result.stderr and "--matcher-url" in result.stderr
    assert "Traceback" not in result.output


def test_demo_with_capacity_down(tmp_path):  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["demo", "--capacity-url", url, "--orders", "1"])
    assert result.exit_code == 1
    assert f"cannot reach the capacity service at {url}" in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_secret_setting_is_a_configuration_error(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHAREFAB_ENV", "production")
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 2
    assert "configuration error" in result.stderr and "Traceback" not in result.output

"""loopwright.toml: loaded and validated with pydantic-settings; variables override the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loopwright.cli import app
from loopwright.config import ConfigError, apply, as_environ, load_config
from loopwright.config.model import variables
from loopwright.config.reference import keys_table

REPO = Path(__file__).resolve().parents[2]
FILE = """
[engine]
url = "http://127.0.0.1:9999"

[metrics]
prometheus_url = "http://prometheus.internal:9090"

[slack]
bot_token = "xoxb-file"
channel = "C0123"

[services]
watch = ["checkout", "payments"]
label = "job"

[signals]
requests = "api_requests_total"
cpu = "rate(process_cpu_seconds_total[5m])"

[llm]
base_url = "http://llm.internal/v1"
model = "big"

[llm.critic]
model = "other"

[incidents]
resolve_after = 5
"""


@pytest.fixture
def toml(tmp_path: Path) -> Path:
    path = tmp_path / "loopwright.toml"
    path.write_text(FILE, encoding="utf-8")
    return path


def test_the_file_sets_every_section(toml: Path) -> None:
    config = load_config(toml, environ={})
    assert config.metrics.prometheus_url == "http://prometheus.internal:9090"
    assert config.services.watch == ["checkout", "payments"]
    assert config.signals.requests == "api_requests_total"
    assert config.signals.errors == 'status=~"5.."'  # a default kept
    assert config.llm.critic.model == "other" and config.llm.model == "big"
    assert config.slack.bot_token is not None
    assert config.slack.bot_token.get_secret_value() == "xoxb-file"


def test_a_variable_wins_over_the_file(toml: Path) -> None:
    env = {"LOOPWRIGHT_WATCH_SERVICES": "search, cart", "LOOPWRIGHT_LLM_CRITIC_MODEL": "envm"}
    config = load_config(toml, environ=env)
    assert config.services.watch == ["search", "cart"]
    assert config.llm.critic.model == "envm"


def test_the_file_is_found_through_loopwright_config(toml: Path) -> None:
    config = load_config(environ={"LOOPWRIGHT_CONFIG": str(toml)})
    assert config.services.label == "job"
    with pytest.raises(ConfigError, match=r"does not exist .*LOOPWRIGHT_CONFIG"):
        load_config(environ={"LOOPWRIGHT_CONFIG": str(toml.with_name("nope.toml"))})


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[metrics]\nprometheus = "http://p"\n', "metrics.prometheus: unknown key"),
        ('[engine]\nkind = "dev"\n', "engine.kind (or $LOOPWRIGHT_ENGINE_KIND)"),
        ("[services]\nwatch = 3\n", "services.watch (or $LOOPWRIGHT_WATCH_SERVICES)"),
        ("[metrics\n", "loopwright.toml"),
        ("[incidents]\nresolve_after = 0\n", "incidents.resolve_after (or $LOOPWRIGHT_INCIDENT"),
    ],
)
def test_a_bad_file_is_refused_naming_the_key(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "loopwright.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert complaint in str(caught.value)


def test_the_file_reaches_child_processes_as_variables_and_variables_still_win(
    toml: Path,
) -> None:
    environ = {"LOOPWRIGHT_SLACK_CHANNEL": "C-from-env"}
    added = apply(load_config(toml, environ=environ), environ)
    assert environ["LOOPWRIGHT_PROMETHEUS_URL"] == "http://prometheus.internal:9090"
    assert environ["LOOPWRIGHT_SLACK_BOT_TOKEN"] == "xoxb-file"
    assert environ["LOOPWRIGHT_SLACK_CHANNEL"] == "C-from-env"
    assert "LOOPWRIGHT_SLACK_CHANNEL" not in added
    assert environ["LOOPWRIGHT_WATCH_SERVICES"] == "checkout,payments"
    assert load_config(environ=environ).services.watch == ["checkout", "payments"]
    assert environ["LOOPWRIGHT_INCIDENT_RESOLVE_AFTER"] == "5"  # the incidents' policy reads it
    assert "LOOPWRIGHT_INCIDENT_REOPEN_WITHIN_MINUTES" not in environ  # unset: its default


def test_every_key_has_one_distinct_variable_and_a_description() -> None:
    keys = variables()
    envs = [env for _, env, _ in keys]
    assert len(envs) == len(set(envs))
    assert all(env and field.description for _, env, field in keys)
    assert set(as_environ(load_config(environ={}))) <= set(envs)


def test_docs_configuration_lists_every_key() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert keys_table() in doc, "regenerate the table with `loopwright config keys`"


def test_config_show_hides_secrets(toml: Path) -> None:
    result = CliRunner().invoke(
        app, ["config", "show", "--config", str(toml)], env={"LOOPWRIGHT_CONFIG": ""}
    )
    assert result.exit_code == 0, result.output
    assert "LOOPWRIGHT_SLACK_BOT_TOKEN=***" in result.stdout
    assert "xoxb-file" not in result.stdout
    assert "LOOPWRIGHT_PROMETHEUS_URL=http://prometheus.internal:9090" in result.stdout


def test_an_invalid_file_stops_a_command_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[nope]\n", encoding="utf-8")
    env = {**os.environ, "LOOPWRIGHT_CONFIG": str(bad)}
    proc = subprocess.run(
        [sys.executable, "-m", "loopwright", "runs"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "nope: unknown key" in proc.stderr and "Traceback" not in proc.stderr


def test_config_check_exits_1_on_a_broken_file_and_0_on_warnings(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[signals]\ncpu = 3\nnope = "x"\n', encoding="utf-8")
    env = {"LOOPWRIGHT_CONFIG": "", "LOOPWRIGHT_PROMETHEUS_URL": ""}
    broken = CliRunner().invoke(app, ["config", "check", "--config", str(bad)], env=env)
    assert broken.exit_code == 1
    assert "FAIL config" in broken.stdout and "signals.nope: unknown key" in broken.stdout
    good = tmp_path / "good.toml"
    good.write_text('[services]\nwatch = ["checkout"]\n', encoding="utf-8")
    fine = CliRunner().invoke(app, ["config", "check", "--config", str(good)], env=env)
    assert fine.exit_code == 0, fine.stdout
    assert "warn prometheus: not configured" in fine.stdout

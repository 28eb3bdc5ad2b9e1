"""The checks `loopwright doctor` runs, one small function each (see ``loopwright/doctor.py``).

No check calls a model: an LLM endpoint is probed with ``GET {base_url}/models`` (free on
every OpenAI-compatible server), and never at all when the kill switch forbids the address.
No check posts to Slack: its settings are checked for shape only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import httpx

from .doctor import Check, DoctorContext, Finding
from .pidfile import PidFile
from .ports import holder

MIN_FREE_BYTES = 200 * 1024 * 1024
LOW_FREE_BYTES = 2 * 1024 * 1024 * 1024


def check_python(_: DoctorContext) -> Iterator[Finding]:
    version = ".".join(str(n) for n in sys.version_info[:3])
    yield Finding("python", "ok", f"Python {version} ({sys.executable})")


def check_folders(context: DoctorContext) -> Iterator[Finding]:
    for what, path in (("data", context.data_dir), ("skills", context.skills_dir)):
        target = path if path.exists() else path.parent
        if path.exists() and not path.is_dir():
            yield Finding("config", "fail", f"{what} folder {path} is a file", fix="move it away")
        elif not os.access(target, os.W_OK):
            yield Finding(
                "config", "fail", f"{what} folder {path} is not writable",
                fix=f"chmod u+w {target} or choose another folder",
            )  # fmt: skip
        else:
            state = "exists" if path.exists() else "will be created"
            yield Finding("config", "ok", f"{what} folder {path} ({state}, writable)")


def check_capability_settings(_: DoctorContext) -> Iterator[Finding]:
    from skills_core.capabilities.settings import CapabilitySettings, SettingsError

    try:
        CapabilitySettings.from_env()
    except SettingsError as err:
        yield Finding("config", "fail", str(err), fix="correct the LOOPWRIGHT_* variable it names")
        return
    yield Finding("config", "ok", "capability settings (LOOPWRIGHT_* variables) are valid")


def check_llm(context: DoctorContext) -> Iterator[Finding]:
    from agent.config import AgentSettings
    from agent.errors import AgentError
    from skills_core.capabilities.settings import CapabilitySettings, SettingsError

    endpoints: dict[str, str] = {}
    try:
        settings = AgentSettings.from_env()
    except AgentError as err:
        yield Finding("llm", "fail", f"agent settings: {err}", fix="correct the variable named")
        return
    agent_configured = settings.roles["agent"].primary is not None
    for role, role_settings in settings.roles.items():
        if role_settings.primary is None:
            if role != "agent" and not agent_configured:
                continue  # one warning is enough: the agent's model is the one to set first
            missing = ", ".join(role_settings.missing) or "its base URL and model"
            effect = "chat cannot write skills" if role == "agent" else "this role is off"
            yield Finding(
                "llm", "warn", f"no model for the {role} role: {effect}", fix=f"set {missing}"
            )
            continue
        endpoints.setdefault(role_settings.primary.base_url, str(role))
    try:
        capability_llm = CapabilitySettings.from_env().llm
    except SettingsError:
        capability_llm = None  # reported by check_capability_settings
    if capability_llm is None:
        yield Finding(
            "llm", "warn",
            "no LLM for skills' llm capability: the health check classifies by rules only",
            fix="set LOOPWRIGHT_LLM_BASE_URL, LOOPWRIGHT_LLM_MODEL, LOOPWRIGHT_LLM_API_KEY",
        )  # fmt: skip
    else:
        endpoints.setdefault(capability_llm.base_url, "skills")
    for base_url, user in endpoints.items():
        yield _probe_llm(base_url, user, context.timeout_s)


def _probe_llm(base_url: str, role: str, timeout_s: float) -> Finding:
    from skills_core.capabilities.llm import kill_switch

    if not kill_switch.ALLOW_MODEL_REQUESTS and not kill_switch.is_loopback(base_url):
        return Finding(
            "llm", "skip",
            f"{base_url} ({role}) not probed: model requests are disabled "
            "(LOOPWRIGHT_ALLOW_MODEL_REQUESTS=0)",
        )  # fmt: skip
    url = f"{base_url.rstrip('/')}/models"
    try:
        resp = httpx.get(url, timeout=timeout_s)
    except httpx.HTTPError as err:
        return Finding(
            "llm", "fail", f"{base_url} ({role}) is not reachable: {type(err).__name__}",
            fix="start the model server, or correct the base URL",
        )  # fmt: skip
    if resp.status_code in (401, 403):
        return Finding(
            "llm", "fail", f"{base_url} ({role}) refused the API key ({resp.status_code})",
            fix="set a valid API key for this endpoint",
        )  # fmt: skip
    if resp.status_code >= 400:
        return Finding(
            "llm", "warn", f"{base_url} ({role}) answered {resp.status_code} to GET /models"
        )
    return Finding("llm", "ok", f"{base_url} ({role}) answers")


def check_prometheus(context: DoctorContext) -> Iterator[Finding]:
    from skills_core.capabilities.settings import (
        CapabilitySettings,
        PrometheusSource,
        SettingsError,
    )
    from skills_core.demo.prometheus import PrometheusMissing, find_prometheus

    try:
        sources = CapabilitySettings.from_env().metrics
    except SettingsError:
        sources = {}
    configured = {n: s for n, s in sources.items() if isinstance(s, PrometheusSource)}
    if not configured:
        yield Finding(
            "prometheus", "warn",
            "no Prometheus configured: the health check and triage cannot query metrics",
            fix="set LOOPWRIGHT_PROMETHEUS_URL (or run `loopwright up --demo`)",
        )  # fmt: skip
    for name, source in configured.items():
        url = f"{source.url.rstrip('/')}/api/v1/query"
        try:
            resp = httpx.get(
                url, params={"query": "up"}, headers=source.headers, timeout=context.timeout_s
            )
            ok = resp.status_code == 200 and resp.json().get("status") == "success"
        except (httpx.HTTPError, ValueError) as err:
            yield Finding(
                "prometheus", "fail", f"source {name} at {source.url} is not reachable: "
                f"{type(err).__name__}", fix="start Prometheus or correct its URL",
            )  # fmt: skip
            continue
        if ok:
            yield Finding("prometheus", "ok", f"source {name} at {source.url} answers PromQL")
        else:
            yield Finding(
                "prometheus", "fail",
                f"source {name} at {source.url} answered {resp.status_code} to a query",
                fix="is this URL a Prometheus (its HTTP API at /api/v1)?",
            )  # fmt: skip
    try:
        binary = find_prometheus()
    except PrometheusMissing as err:
        yield Finding("prometheus", "warn", f"for `up --demo`: {err}")
    else:
        yield Finding("prometheus", "ok", f"for `up --demo`: {binary}")


def check_slack(_: DoctorContext) -> Iterator[Finding]:
    from skills_core.capabilities.settings import (
        CapabilitySettings,
        SettingsError,
        SlackApiChannel,
        SlackWebhookChannel,
    )

    try:
        channels = CapabilitySettings.from_env().notify.channels
    except SettingsError:
        return  # reported by check_capability_settings
    slack = channels.get("slack")
    if isinstance(slack, SlackApiChannel):
        token = slack.token.get_secret_value()
        if not token.startswith(("xoxb-", "xoxp-")):
            yield Finding(
                "slack", "fail", "LOOPWRIGHT_SLACK_BOT_TOKEN does not look like a Slack token",
                fix="use the bot token (xoxb-…) of your Slack app",
            )  # fmt: skip
        else:
            yield Finding("slack", "ok", f"Web API, channel {slack.channel} (threads)")
    elif isinstance(slack, SlackWebhookChannel):
        url = slack.url.get_secret_value()
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            yield Finding(
                "slack", "fail", "LOOPWRIGHT_SLACK_WEBHOOK_URL is not an https URL",
                fix="copy the webhook URL from your Slack app",
            )  # fmt: skip
        else:
            yield Finding(
                "slack", "ok", "incoming webhook (no threads; at most once)",
            )  # fmt: skip
    else:
        yield Finding(
            "slack", "warn", "Slack not configured: messages go to the inbox",
            fix="set LOOPWRIGHT_SLACK_BOT_TOKEN and LOOPWRIGHT_SLACK_CHANNEL "
            "(or LOOPWRIGHT_SLACK_WEBHOOK_URL)",
        )  # fmt: skip


def check_sandbox(context: DoctorContext) -> Iterator[Finding]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        yield Finding(
            "sandbox", "warn",
            "bubblewrap (bwrap) is not installed: skill workers get no OS-level isolation",
            fix="apt-get install -y bubblewrap",
        )  # fmt: skip
        return
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--unshare-all", "--die-with-parent", "true"]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, timeout=10 + context.timeout_s)
    except (OSError, subprocess.TimeoutExpired) as err:
        yield Finding("sandbox", "warn", f"{bwrap} could not run: {err}")
        return
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        yield Finding(
            "sandbox", "warn", f"{bwrap} is installed but cannot create a sandbox: {why[0]}",
            fix="allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
            " or run in a container that permits them",
        )  # fmt: skip
        return
    yield Finding("sandbox", "ok", f"bubblewrap works ({bwrap})")


def check_ports(context: DoctorContext) -> Iterator[Finding]:
    ours = PidFile(context.data_dir).read()
    our_pids = set(ours.pids()) if ours else set()
    for name, port in context.ports.items():
        held = holder(port)
        if held is None:
            yield Finding("ports", "ok", f"{name} port {port} is free")
        elif held.pid is not None and held.pid in our_pids:
            yield Finding(
                "ports", "ok", f"{name} port {port}: Loopwright is running (pid {held.pid})"
            )
        else:
            yield Finding(
                "ports", "fail", f"{name}: {held.describe()}",
                fix=f"stop it, or choose another port (`loopwright up --{_flag(name)} N`)",
            )  # fmt: skip


def _flag(name: str) -> str:
    return "port" if name == "engine" else f"{name}-port"


def check_disk(context: DoctorContext) -> Iterator[Finding]:
    path = context.data_dir if context.data_dir.exists() else context.data_dir.parent
    free = shutil.disk_usage(path if str(path) else ".").free
    text = f"{free / 1024**3:.1f} GB free under {path.resolve()}"
    if free < MIN_FREE_BYTES:
        yield Finding(
            "disk", "fail", text, fix="free some space (SQLite and Prometheus write here)"
        )
    elif free < LOW_FREE_BYTES:
        yield Finding("disk", "warn", text, fix="Prometheus and the run history grow over time")
    else:
        yield Finding("disk", "ok", text)
    try:
        with tempfile.NamedTemporaryFile(dir=path):
            pass
    except OSError as err:
        yield Finding("disk", "fail", f"cannot write under {path}: {err}")


def check_config(_: DoctorContext) -> Iterator[Finding]:
    """loopwright.toml validates, and each health-check signal's query answers on Prometheus."""
    from .config.checks import config_checks

    # Whether Prometheus is configured and answers is check_prometheus's to say, once.
    yield from (f for f in config_checks() if f.area != "prometheus")


#: In display order. Colleagues add checks by appending here.
CHECKS: list[Check] = [
    check_python,
    check_folders,
    check_config,
    check_capability_settings,
    check_llm,
    check_prometheus,
    check_slack,
    check_sandbox,
    check_ports,
    check_disk,
]

"""The whole platform for the browser tests, on free loopback ports: the engine, a real sidecar
(every version waits for a person), the agent answering from a scripted OpenAI-compatible
server, and the console (in this process, so its sessions can be inspected)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from agent.testing.script import AGENT_MODEL, CRITIC_MODEL, Script, call, say
from console.ledger_runs import LedgerRuns
from console.testing import ConsoleServer
from loopwright.store import open_store
from skills_core.capabilities.scripted_llm import ScriptedLLM
from tests.agent import _processes
from tests.agent._harness import critic_json
from tests.agent._processes import AgentApp, Engine, Proc, wait_synced

# Four processes start on a 2-core machine shared with colleagues: give each more than 30 s.
_processes.READY_S = max(_processes.READY_S, 120.0)

SKILL_ID = "console-ping"
EVENT = "console/ping"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def ping_source(answer: str = "pong", retries: int = 1) -> str:
    manifest = {
        "id": SKILL_ID,
        "description": f"Answers pings; says {XSS} as text",
        "author": "agent",
        "triggers": [{"event": EVENT, "example": {"data": {"n": 1}}}],
        "capabilities": {},
    }
    return (
        f"MANIFEST = {json.dumps(manifest)}\n\n\n"
        f'@skill.function(fn_id="{SKILL_ID}", trigger=skill.event("{EVENT}"), retries={retries})\n'
        "def handler(ctx):\n"
        '    size = ctx.step.run("count-fields", lambda: len(ctx.event.data))\n'
        f'    answer = ctx.step.run("answer", lambda: {{"reply": "{answer}", "fields": size}})\n'
        "    return answer\n"
    )


def chat_script() -> Script:
    return Script(
        agent=[
            call("write_skill", id=SKILL_ID, source=ping_source()),
            say(f"{SKILL_ID} is written and waits for your review. {XSS}"),
        ],
        critic=[critic_json(0.9)],
    )


def store_url(workdir: Path) -> str:
    """The platform store (run ledger) every part of this test platform shares."""
    return f"sqlite:///{workdir / 'platform.db'}"


class Sidecar(Proc):
    name = "sidecar"

    def __init__(self, workdir: Path, engine_url: str) -> None:
        super().__init__(workdir)
        self.engine_url = engine_url
        self.skills_dir = workdir / "skills"
        self.capabilities_db = workdir / "capabilities.db"
        policy = workdir / "approval.json"
        policy.write_text(json.dumps({"always_ask": True}))
        self.policy = policy

    def command(self) -> list[str]:
        return [sys.executable, "-m", "sidecar", "--engine", self.engine_url,
                "--port", str(self.port), "--skills-dir", str(self.skills_dir),
                "--db", str(self.workdir / "sidecar.db"), "--approval-policy", str(self.policy),
                "--no-core", "--log-level", "warning"]  # fmt: skip

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "LOOPWRIGHT_CAPABILITIES_DB": str(self.capabilities_db),
            "LOOPWRIGHT_STORE_URL": store_url(self.workdir),
        }

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/v1/skills", timeout=1.0).status_code == 200


@dataclass
class Platform:
    engine: Engine
    sidecar: Sidecar
    agent: AgentApp
    llm: ScriptedLLM
    console: ConsoleServer
    workdir: Path

    def send(self, name: str, data: dict[str, object]) -> str:
        resp = httpx.post(f"{self.engine.url}/e/test", json={"name": name, "data": data})
        assert resp.status_code == 200, resp.text
        return str(resp.json()["ids"][0])

    def submit(self, source: str, reason: str, author: str = "human") -> dict[str, object]:
        resp = httpx.post(
            f"{self.sidecar.url}/v1/skills/{SKILL_ID}/versions",
            json={"source": source, "author": author, "reason": reason},
            timeout=60,
        )
        assert resp.status_code == 200, resp.text
        data: dict[str, object] = resp.json()
        return data

    def skill(self) -> dict[str, object]:
        data: dict[str, object] = httpx.get(f"{self.sidecar.url}/v1/skills/{SKILL_ID}").json()
        return data


@contextmanager
def platform(workdir: Path) -> Iterator[Platform]:
    with ScriptedLLM() as llm:
        llm.respond_with(chat_script().responder())
        engine = Engine(workdir)
        sidecar = Sidecar(workdir, engine.url)
        agent = AgentApp(workdir, {})
        started: list[Proc] = []
        console: ConsoleServer | None = None
        try:
            engine.start()
            started.append(engine)
            sidecar.start()
            started.append(sidecar)
            agent.extra_env = {
                "LOOPWRIGHT_AGENT_BASE_URL": llm.base_url,
                "LOOPWRIGHT_AGENT_MODEL": AGENT_MODEL,
                "LOOPWRIGHT_CRITIC_MODEL": CRITIC_MODEL,
                "LOOPWRIGHT_ENGINE_URL": engine.url,
                "LOOPWRIGHT_SIDECAR_URL": sidecar.url,
                "LOOPWRIGHT_AGENT_URL": agent.url,
                "LOOPWRIGHT_LLM_MAX_RETRIES": "0",
                "LOOPWRIGHT_SKILLS_DIR": str(sidecar.skills_dir),
                "LOOPWRIGHT_STORE_URL": store_url(workdir),
            }
            agent.start()
            started.append(agent)
            wait_synced(engine.url)
            console = ConsoleServer(
                workdir / "var", engine_url=engine.url, sidecar_url=sidecar.url,
                agent_url=agent.url, capabilities_db_path=sidecar.capabilities_db,
                runs=LedgerRuns(open_store(store_url(workdir))),
            ).start()  # fmt: skip
            yield Platform(engine, sidecar, agent, llm, console, workdir)
        finally:
            if console is not None:
                console.stop()
            for proc in reversed(started):
                proc.stop()

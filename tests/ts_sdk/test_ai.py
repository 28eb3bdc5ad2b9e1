"""`step.ai.infer` and `step.ai.wrap` (protocol 4.12): the engine makes the request to the model
provider for the SDK and the provider's answer becomes the step's output. The provider here is
the scripted OpenAI-compatible server on loopback; the paid-model kill switch
(LOOPWRIGHT_ALLOW_MODEL_REQUESTS=0, set for every process the suite starts) refuses any other
host without connecting to it."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest

from skills_core.capabilities.scripted_llm import RecordedRequest, Reply, ScriptedLLM

from ._scenario import TsApp


def _answer(request: RecordedRequest) -> Reply:
    return Reply(f"you asked: {request.messages[-1]['content']}")


def test_ai_infer_is_made_by_the_engine_and_wrap_is_a_step(ts_app: TsApp) -> None:
    question = f"what is {uuid.uuid4().hex[:6]}?"
    with ScriptedLLM(responder=_answer) as llm:
        run = ts_app.trigger("ai", {"question": question, "base_url": llm.base_url})
        requests = list(llm.requests)
    assert run["status"] == "Completed", ts_app.describe(run["run_id"])
    assert run["output"] == {"inferred": f"you asked: {question}", "wrapped": {"echo": question}}
    [request] = requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-scripted"
    assert request.model == "gpt-test"
    kinds = {s["name"]: s["kind"] for s in ts_app.api.steps(run["run_id"])}
    assert kinds["ask"] == "ai"
    assert kinds["wrapped"] == "run"


def _non_loopback_ipv4() -> str | None:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    for info in infos:
        address = str(info[4][0])
        if not address.startswith("127."):
            return address
    for target in ("198.51.100.1", "192.0.2.1"):  # documentation addresses
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect((target, 9))  # a UDP connect sends nothing: it only picks a route
            address = str(probe.getsockname()[0])
        except OSError:
            continue
        finally:
            probe.close()
        if not address.startswith("127.") and address != "0.0.0.0":
            return address
    return None


def test_kill_switch_refuses_a_non_loopback_provider_without_connecting(ts_app: TsApp) -> None:
    address = _non_loopback_ipv4()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address to aim at")
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen()
    listener.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        url = f"http://{address}:{listener.getsockname()[1]}/v1"
        run = ts_app.trigger("ai", {"question": "hi", "base_url": url})
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
    assert run["status"] == "Failed", ts_app.describe(run["run_id"])
    [ask] = [s for s in ts_app.api.steps(run["run_id"]) if s["name"] == "ask"]
    assert ask["error"]["name"] == "AIGatewayError"
    assert "LOOPWRIGHT_ALLOW_MODEL_REQUESTS=0" in ask["error"]["message"]
    assert accepted == []  # the engine never opened a connection to the provider

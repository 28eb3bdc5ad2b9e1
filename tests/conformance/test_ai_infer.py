"""step.ai.infer (section 4.12) with the Python SDK: the engine sends the request to the
provider (here the scripted OpenAI-compatible server on loopback), authenticated as the
adapter's format says, and the provider's JSON answer is the step's output. A provider error
becomes the `AIGatewayError` memo of 4.5, which the function sees as a StepError."""

from __future__ import annotations

from typing import Any

import inngest
from inngest.experimental.ai import openai

from skills_core.capabilities.scripted_llm import Reply, ScriptedLLM

from ._harness import App, app_fixture


def build(app: App) -> list[inngest.Function[Any]]:
    trigger = inngest.TriggerEvent(event=app.event("ask"))

    def adapter(ctx: inngest.Context | inngest.ContextSync) -> openai.Adapter:
        return openai.Adapter(
            auth_key="sk-conformance", base_url=ctx.event.data["base_url"], model="gpt-test"
        )

    body = {"messages": [{"role": "user", "content": "hello"}]}
    if app.is_sync:

        @app.client.create_function(fn_id="ask", trigger=trigger, retries=0)
        def ask(ctx: inngest.ContextSync) -> Any:
            try:
                answer = ctx.step.ai.infer("infer", adapter=adapter(ctx), body=body)
            except inngest.StepError as err:
                return {"error": err.name, "message": err.message}
            return answer["choices"][0]["message"]["content"]  # type: ignore[index]

    else:

        @app.client.create_function(fn_id="ask", trigger=trigger, retries=0)
        async def ask_async(ctx: inngest.Context) -> Any:
            try:
                answer = await ctx.step.ai.infer("infer", adapter=adapter(ctx), body=body)
            except inngest.StepError as err:
                return {"error": err.name, "message": err.message}
            return answer["choices"][0]["message"]["content"]  # type: ignore[index]

        ask = ask_async

    return [ask]


app = app_fixture(build)


def test_ai_infer_answer_is_the_step_output(app: App) -> None:
    with ScriptedLLM(Reply("hi from the model")) as llm:
        run = app.trigger("ask", {"base_url": llm.base_url})
        requests = list(llm.requests)
    assert run["status"] == "Completed", app.describe(run["run_id"], run)
    assert run["output"] == "hi from the model"
    [request] = requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-conformance"
    assert request.model == "gpt-test" and request.messages[-1]["content"] == "hello"
    [step] = app.steps(run["run_id"])
    assert step["kind"] == "ai" and step["status"] == "Completed"


def test_ai_infer_provider_error_is_an_ai_gateway_error(app: App) -> None:
    with ScriptedLLM(Reply(status=400, error="bad request")) as llm:
        run = app.trigger("ask", {"base_url": llm.base_url})
    assert run["status"] == "Completed", app.describe(run["run_id"], run)
    assert run["output"]["error"] == "AIGatewayError"
    assert run["output"]["message"].startswith("Error making AI request: the provider answered 400")

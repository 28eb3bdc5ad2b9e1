"""The LLM capability: classify and complete through any OpenAI-compatible endpoint.

Order of every call, and why:

1. no LLM configured → ``LLMUnavailable("not-configured")`` at once, naming the variables to
   set, so a skill falls back to its rules without waiting on a timeout;
2. the kill switch (``kill_switch.ALLOW_MODEL_REQUESTS``) → ``reason="blocked"``;
3. reserve the call's worst-case cost against the skill's per-run and per-week budgets
   (``LLMBudgetExceeded`` before anything is sent);
4. one request through the ``openai`` client, no client-side retries (a step's retry is the
   retry, and it goes through the budget again);
5. settle the reservation to the tokens actually used, recorded per skill, run and model.

Failures map to ``LLMTimeout``, or ``LLMUnavailable`` with ``reason`` ``failed`` (retriable,
with the server's ``Retry-After`` when it gave one) or ``rejected`` (bad key, unknown model).
"""

from __future__ import annotations

import threading
from typing import Any, NoReturn

import openai

from ..errors import LLMTimeout, LLMUnavailable
from ..grant import Grant
from ..retry_hints import parse_retry_after
from ..settings import CapabilitySettings, LLMSettings
from ..store import CapabilityStore
from . import kill_switch
from .budget import BudgetLedger, Reservation, cost_usd, estimate_tokens
from .classify import CLASSIFY_MAX_TOKENS, parse_reply, system_prompt
from .messages import Classification, ClassifyRequest, CompleteRequest, Completion, Usage


class LLMService:
    def __init__(self, settings: CapabilitySettings, store: CapabilityStore) -> None:
        self._settings = settings.llm
        self._missing = settings.llm_missing_env
        self._retry_after = settings.default_retry_after_s
        ttl = settings.llm.reservation_ttl_s if settings.llm else 600.0
        self.ledger = BudgetLedger(store, ttl)
        self._client: openai.OpenAI | None = None
        self._client_lock = threading.Lock()

    def classify(
        self, grant: Grant, run_id: str, request: ClassifyRequest, *, role: str = "classifier"
    ) -> Classification:
        system = system_prompt(request.labels, request.instructions)
        text, usage = self._chat(
            grant, run_id, role, system, request.text, max_tokens=CLASSIFY_MAX_TOKENS
        )
        label, reason = parse_reply(text, request.labels)
        return Classification(label=label, reason=reason, usd=usage.usd, usage=usage)

    def complete(
        self, grant: Grant, run_id: str, request: CompleteRequest, *, role: str = "writer"
    ) -> Completion:
        text, usage = self._chat(
            grant, run_id, role, request.system, request.prompt, max_tokens=request.max_tokens
        )
        return Completion(text=text, usd=usage.usd, usage=usage)

    def _chat(
        self,
        grant: Grant,
        run_id: str,
        role: str,
        system: str | None,
        user: str,
        *,
        max_tokens: int,
    ) -> tuple[str, Usage]:
        settings = self._require()
        kill_switch.check_allowed(settings.base_url)
        model = settings.model_for(role)
        price = settings.price(model)
        texts = [t for t in (system, user) if t]
        worst = cost_usd(price, estimate_tokens(*texts), max_tokens)
        reservation = self.ledger.reserve(grant, run_id, role=role, model=model, usd=worst)
        messages: list[Any] = [{"role": "user", "content": user}]
        if system:
            messages.insert(0, {"role": "system", "content": system})
        try:
            response = self._openai(settings).chat.completions.create(
                model=model, messages=messages, max_tokens=max_tokens, temperature=0
            )
        except openai.APIError as err:
            self._raise_mapped(err, reservation)
        usage = response.usage
        if usage is None:
            # The server did not say: assume the worst case we reserved.
            input_tokens, output_tokens, usd = 0, 0, reservation.usd
        else:
            input_tokens, output_tokens = usage.prompt_tokens, usage.completion_tokens
            usd = cost_usd(price, input_tokens, output_tokens)
        self.ledger.settle(
            reservation, usd=usd, input_tokens=input_tokens, output_tokens=output_tokens
        )
        text = response.choices[0].message.content if response.choices else None
        used = Usage(model=model, input_tokens=input_tokens, output_tokens=output_tokens, usd=usd)
        return text or "", used

    def _require(self) -> LLMSettings:
        if self._settings is None:
            raise LLMUnavailable(
                "no LLM is configured: set " + ", ".join(self._missing) + " (any "
                "OpenAI-compatible endpoint, e.g. LOOPWRIGHT_LLM_BASE_URL=http://127.0.0.1:11434/v1)",
                reason="not-configured",
                retriable=False,
            )
        return self._settings

    def _openai(self, settings: LLMSettings) -> openai.OpenAI:
        with self._client_lock:
            if self._client is None:
                self._client = openai.OpenAI(
                    base_url=settings.base_url,
                    api_key=settings.api_key.get_secret_value(),
                    timeout=settings.timeout_s,
                    max_retries=0,
                )
            return self._client

    def _raise_mapped(self, err: openai.APIError, reservation: Reservation) -> NoReturn:
        if isinstance(err, openai.APITimeoutError):
            # The request may have been processed and billed: keep the worst case.
            self.ledger.settle(reservation, usd=reservation.usd, input_tokens=0, output_tokens=0)
            raise LLMTimeout(
                f"the LLM did not answer in time: {err}", retry_after=self._retry_after
            ) from None
        self.ledger.release(reservation)
        if isinstance(err, openai.APIConnectionError):
            raise LLMUnavailable(
                f"the LLM endpoint is unreachable: {err}", retry_after=self._retry_after
            ) from None
        status = getattr(err, "status_code", None)
        if isinstance(err, openai.APIStatusError) and (status == 429 or (status or 0) >= 500):
            hint = parse_retry_after(err.response.headers.get("retry-after"), self._retry_after)
            raise LLMUnavailable(
                f"the LLM endpoint answered HTTP {status}: {err.message}", retry_after=hint
            ) from None
        raise LLMUnavailable(
            f"the LLM endpoint refused the request (HTTP {status}): {err.message}; check "
            "LOOPWRIGHT_LLM_API_KEY, LOOPWRIGHT_LLM_MODEL and LOOPWRIGHT_LLM_BASE_URL",
            reason="rejected",
            retriable=False,
        ) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

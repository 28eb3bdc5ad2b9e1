"""Requests to and answers from the LLM capability."""

from __future__ import annotations

import pydantic

MAX_TEXT = 50_000


class ClassifyRequest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    text: str = pydantic.Field(min_length=1, max_length=MAX_TEXT)
    labels: list[str] = pydantic.Field(min_length=2, max_length=20)
    instructions: str | None = pydantic.Field(default=None, max_length=4000)

    @pydantic.field_validator("labels")
    @classmethod
    def _distinct(cls, labels: list[str]) -> list[str]:
        cleaned = [label.strip() for label in labels]
        if any(not label or len(label) > 60 for label in cleaned):
            raise ValueError("labels are non-empty strings of at most 60 characters")
        if len({label.lower() for label in cleaned}) != len(cleaned):
            raise ValueError("labels must be distinct")
        return cleaned


class CompleteRequest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    prompt: str = pydantic.Field(min_length=1, max_length=MAX_TEXT)
    system: str | None = pydantic.Field(default=None, max_length=MAX_TEXT)
    max_tokens: int = pydantic.Field(default=256, ge=1, le=4096)


class Usage(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)

    model: str
    input_tokens: int
    output_tokens: int
    usd: float


class Classification(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)

    label: str
    reason: str
    usd: float
    usage: Usage


class Completion(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(frozen=True)

    text: str
    usd: float
    usage: Usage

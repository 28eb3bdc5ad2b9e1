"""One family of LLM variables for every role, with per-role overrides.

    LOOPWRIGHT_LLM_{BASE_URL,API_KEY,MODEL,FALLBACK_MODEL}            every role
    LOOPWRIGHT_LLM_<ROLE>_{BASE_URL,API_KEY,MODEL,FALLBACK_MODEL,     one role: AGENT, CRITIC,
                           FALLBACK_BASE_URL,FALLBACK_API_KEY}        CLASSIFIER, SKILLS
    LOOPWRIGHT_LLM_REVIEW_{BASE_URL,API_KEY,MODEL}                    the review's rewrites

The agent (agent, critic, classifier), the skills' ``llm`` capability (skills; its
``classify`` calls use the classifier's model when one is set) and the weekly review (review)
read these through ``with_current_names``, which also accepts the older names, each with one
deprecation line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

log = logging.getLogger("loopwright.config")
ROLES = ("agent", "critic", "classifier", "skills", "review")
FAMILY = "LOOPWRIGHT_LLM_"
_FIELDS = (
    "BASE_URL",
    "API_KEY",
    "MODEL",
    "FALLBACK_MODEL",
    "FALLBACK_BASE_URL",
    "FALLBACK_API_KEY",
)
#: Old name → new name.
DEPRECATED = (
    {
        f"LOOPWRIGHT_{role}_{field}": f"{FAMILY}{role}_{field}"
        for role in ("AGENT", "CRITIC", "CLASSIFIER")
        for field in _FIELDS
    }
    | {"LOOPWRIGHT_LLM_MODEL_CLASSIFIER": f"{FAMILY}CLASSIFIER_MODEL"}
    | {
        f"LOOPWRIGHT_REVIEW_LLM_{field}": f"{FAMILY}REVIEW_{field}"
        for field in ("BASE_URL", "API_KEY", "MODEL")
    }
)
_warned: set[str] = set()


def name(field: str, role: str | None = None) -> str:
    """``name("MODEL", "critic")`` → ``LOOPWRIGHT_LLM_CRITIC_MODEL``."""
    return f"{FAMILY}{role.upper()}_{field}" if role else f"{FAMILY}{field}"


def with_current_names(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with every deprecated name copied to its new one (the new one wins)."""
    env = dict(environ)
    for old, new in DEPRECATED.items():
        if not (environ.get(old) or "").strip():
            continue
        if old not in _warned:
            _warned.add(old)
            log.warning("%s is deprecated: use %s (it still works for now)", old, new)
        if not (env.get(new) or "").strip():
            env[new] = environ[old]
    return env


def lookup(env: Mapping[str, str], field: str, role: str) -> str:
    """The role's own value, else the family's."""
    return (env.get(name(field, role)) or env.get(name(field)) or "").strip()

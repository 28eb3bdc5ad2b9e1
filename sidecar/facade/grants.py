"""What a manifest may grant: the ``capabilities`` section of a skill's MANIFEST.

These models are the single definition of each grant. The validator checks MANIFEST against
them (so a bad grant is a finding with a fix hint) and the capability gates enforce them at
run time (so a call outside the grant is a ``CapabilityDenied`` violation). HTTP hosts are
public DNS names only: loopback, private and link-local addresses, IP literals and internal
suffixes are refused here, so no skill can be granted the engine's API, the platform's
loopback API or a cloud metadata endpoint. (The HTTP backend must still re-check the
resolved address, since DNS can point a public name anywhere.)
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

import pydantic

NAME = r"^[a-z][a-z0-9_-]{0,39}$"
SourceName = Annotated[str, pydantic.StringConstraints(pattern=NAME)]
ChannelName = Annotated[str, pydantic.StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_INTERNAL_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home", ".corp", ".intranet")


def _public_host(host: str) -> str:
    if host != host.strip().lower():
        raise ValueError("write the host in lower case, without spaces")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValueError("IP addresses are not allowed; name a public DNS host")
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError("a host is a DNS name like 'status.example.com' (no scheme, port or path)")
    if labels[-1].isdigit():
        raise ValueError("IP addresses are not allowed; name a public DNS host")
    if host == "localhost" or host.endswith(_INTERNAL_SUFFIXES):
        raise ValueError("loopback and internal hosts are not allowed")
    return host


PublicHost = Annotated[str, pydantic.AfterValidator(_public_host)]


class _Grant(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)


class MetricsGrant(_Grant):
    #: Named metric sources: "prometheus" (PromQL), "scrape" (/metrics endpoints), "host".
    sources: list[SourceName] = pydantic.Field(min_length=1, max_length=10)


class DeploysGrant(_Grant):
    #: Named deploy-history sources, e.g. "log", "git", "events".
    sources: list[SourceName] = pydantic.Field(min_length=1, max_length=10)


class NotifyGrant(_Grant):
    #: Named channels, e.g. "inbox" (local), "slack".
    channels: list[ChannelName] = pydantic.Field(min_length=1, max_length=10)


class LLMGrant(_Grant):
    per_run_usd: float = pydantic.Field(gt=0, le=5)
    per_week_usd: float = pydantic.Field(gt=0, le=100)

    @pydantic.model_validator(mode="after")
    def _week_covers_run(self) -> LLMGrant:
        if self.per_week_usd < self.per_run_usd:
            raise ValueError("per_week_usd must be at least per_run_usd")
        return self


class HttpGrant(_Grant):
    hosts: list[PublicHost] = pydantic.Field(min_length=1, max_length=20)


class IncidentsGrant(_Grant):
    #: Track incidents of these services only; empty: every service the skill observes.
    services: list[SourceName] = pydantic.Field(default_factory=list, max_length=200)


#: A skill id, or ``*``: every skill (only a core skill may hold it; docs/SKILLS.md).
SkillRef = Annotated[str, pydantic.StringConstraints(pattern=r"^(\*|[a-z][a-z0-9-]{0,62})$")]


class LedgerGrant(_Grant):
    #: Read the schedules and runs of these skills; ``["*"]``: every skill (core skills only).
    skills: list[SkillRef] = pydantic.Field(min_length=1, max_length=200)


class CapabilityGrants(_Grant):
    metrics: MetricsGrant | None = None
    deploys: DeploysGrant | None = None
    notify: NotifyGrant | None = None
    llm: LLMGrant | None = None
    http: HttpGrant | None = None
    incidents: IncidentsGrant | None = None
    ledger: LedgerGrant | None = None

    def granted(self) -> frozenset[str]:
        return frozenset(name for name in type(self).model_fields if getattr(self, name))


CAPABILITY_NAMES = frozenset(CapabilityGrants.model_fields)

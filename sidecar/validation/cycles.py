"""Loops of skills that trigger each other: refused before they can run away.

A skill that sends the event that triggers it (``emits`` meets its own event ``triggers``)
would start a new run of itself from every run, forever; the contract refuses it statically
(``emit-self-trigger``). Through other skills the same loop needs the live set: skill A sends
an event B triggers on, B invokes or sends to C, C sends what A triggers on. So when a version
is about to become active, the sidecar builds the graph of active skills — an edge from X to Y
when X emits an event Y triggers on, or X invokes a function of Y — with the candidate in place
of its current version, and refuses the activation when the candidate lies on a cycle
(``trigger-cycle``), naming it. The run-time event caps (``run_limits``) stay as the last line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from .manifest import Manifest


@dataclasses.dataclass(frozen=True)
class Node:
    """What the graph needs of one skill: what starts it and what it starts."""

    skill_id: str
    triggers: frozenset[str]
    emits: frozenset[str]
    invokes: frozenset[str]
    function_ids: frozenset[str]

    @classmethod
    def of(cls, manifest: Manifest, function_ids: Iterable[str]) -> Node:
        return cls(
            skill_id=manifest.id,
            triggers=frozenset(t.event for t in manifest.triggers if t.event is not None),
            emits=frozenset(manifest.emits),
            invokes=frozenset(manifest.invokes),
            function_ids=frozenset(function_ids),
        )


def self_triggers(manifest: Manifest) -> list[str]:
    """Events the skill both sends and triggers on, sorted."""
    events = {t.event for t in manifest.triggers if t.event is not None}
    return sorted(events & set(manifest.emits))


def _edges(source: Node, nodes: list[Node]) -> list[tuple[str, Node]]:
    out = []
    for target in nodes:
        for event in sorted(source.emits & target.triggers):
            out.append((f"sends {event!r}", target))
        for fn_id in sorted(source.invokes & target.function_ids):
            out.append((f"invokes {fn_id!r}", target))
    return out


def find_cycle(candidate: Node, active: Iterable[Node]) -> list[str] | None:
    """The shortest cycle through ``candidate``, as "a sends 'x/y' to b" hops; None if none.

    ``active`` are the other live skills (the candidate's own current version excluded).
    """
    nodes = [n for n in active if n.skill_id != candidate.skill_id] + [candidate]
    # Breadth-first from the candidate: the first path back to it is a shortest cycle.
    paths: dict[str, list[str]] = {candidate.skill_id: []}
    frontier = [candidate]
    while frontier:
        following = []
        for node in frontier:
            for how, target in _edges(node, nodes):
                hop = f"{node.skill_id} {how} to {target.skill_id}"
                if target.skill_id == candidate.skill_id:
                    return [*paths[node.skill_id], hop]
                if target.skill_id not in paths:
                    paths[target.skill_id] = [*paths[node.skill_id], hop]
                    following.append(target)
        frontier = following
    return None

"""Traffic during the chaos: the event burst, the releases for waiting runs, and the sampler.

Events go to `POST /e/{key}` one per request, each with its own `x-inngest-event-id-seed`
(protocol 3.2), so the engine's internal id is known before the first try and a retried POST
names the same event. Only a POST answered 200 counts as *acknowledged*.

What happens when a POST fails (connection refused while the engine is dead, or the engine killed
while the request was open): the sender re-sends the same body with the same seed until it gets a
200, as the SDK's `client.send` does (it re-sends with the same seed, but only 5 times in quick
succession, which a 1 s restart outlasts, so the loop is ours). A seeded re-send is idempotent:
the run idempotency key is (function, event id) and the event id is the seeded internal id. Some
events (a seeded random choice) are instead *abandoned* after their first failed try: they are
never acknowledged, and the engine may or may not have stored them; for those the checks only
demand "at most one run per function, and if it exists it finishes". A kill rarely lands between
the engine's commit and its answer, so a few acknowledged events are also *echoed*: POSTed once
more with the same seed, as a client that lost the 200 would, which must start no second run.

The `Observer` thread, meanwhile:
- lists running runs (`GET /v1/runs?status=Running`), so it knows every run, including children;
- releases each waiting run (sends `chaos/release` with the run's key) 0.3-1.5 s after its `gate`
  step is visible as Waiting, i.e. after the wait was committed (an earlier event would not match);
- samples `GET /v1/runs/{id}/steps` of random running runs and records, per step, the first time
  its result was seen saved and the value seen. A step seen saved must never execute again, and
  its value must never change.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import threading
import time
from typing import Any

import httpx
from ulid import ULID

EVENT_KEY = "chaos-key"
RELEASE_DELAY_S = (0.3, 1.5)  # a waiting run is released this long after its wait is seen


def seeded_id(seed: str, n: int = 1) -> str:
    """The internal id of the n-th event (1-based) of a POST carrying this seed (protocol 3.2)."""
    millis_text, b64 = seed.split(",", 1)
    entropy = base64.b64decode(b64)
    tail = (int.from_bytes(entropy[6:10], "big") + n) & 0xFFFFFFFF
    raw = int(millis_text).to_bytes(6, "big") + entropy[:6] + tail.to_bytes(4, "big")
    return str(ULID.from_bytes(raw))


@dataclasses.dataclass
class Sent:
    """One event the test sends, and what became of it."""

    name: str
    data: dict[str, Any]
    seed: str
    internal_id: str
    abandon_on_failure: bool = False
    echo: bool = False  # POST it once more after its 200, as a client that lost the answer would
    echoed: bool = False  # that second POST was answered 200 too
    due: float = 0.0  # when the burst schedule wants it sent
    first_try: float | None = None
    acked_at: float | None = None  # a 200 was received at this time
    returned_id: str | None = None
    tries: int = 0
    abandoned: bool = False
    errors: list[str] = dataclasses.field(default_factory=list)
    body: bytes = b""

    @property
    def acked(self) -> bool:
        return self.acked_at is not None


def make_event(
    rng: random.Random,
    name: str,
    data: dict[str, Any],
    *,
    abandon: bool = False,
    echo: bool = False,
) -> Sent:
    millis = int(time.time() * 1000)
    seed = f"{millis},{base64.b64encode(rng.randbytes(10)).decode()}"
    body = json.dumps([{"name": name, "data": data, "ts": millis}]).encode()
    return Sent(name, data, seed, seeded_id(seed), abandon, echo, body=body)


def _post(http: httpx.Client, sent: Sent) -> httpx.Response | str:
    headers = {"content-type": "application/json", "x-inngest-event-id-seed": sent.seed}
    try:
        resp = http.post(f"/e/{EVENT_KEY}", content=sent.body, headers=headers)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return resp if resp.status_code == 200 else f"HTTP {resp.status_code}: {resp.text[:200]}"


def post_once(http: httpx.Client, sent: Sent) -> bool:
    """One try; True when the engine acknowledged the event (200)."""
    sent.tries += 1
    if sent.first_try is None:
        sent.first_try = time.time()
    resp = _post(http, sent)
    if isinstance(resp, str):
        sent.errors.append(resp)
        return False
    sent.acked_at = time.time()
    sent.returned_id = (resp.json().get("ids") or [None])[0]
    return True


class Sender:
    """Sends `events` at their `due` times from a few threads, re-sending failed POSTs."""

    def __init__(self, url: str, events: list[Sent], threads: int = 3, patience_s: float = 90.0):
        self.url, self.events, self.patience_s = url, events, patience_s
        self._next = 0
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, daemon=True) for _ in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def _take(self) -> Sent | None:
        with self._lock:
            if self._next >= len(self.events):
                return None
            self._next += 1
            return self.events[self._next - 1]

    def _work(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5.0) as http:
            while (sent := self._take()) is not None:
                time.sleep(max(0.0, sent.due - time.time()))
                give_up = time.time() + self.patience_s
                while not post_once(http, sent):
                    if sent.abandon_on_failure:
                        sent.abandoned = True
                        break
                    if time.time() > give_up:
                        break
                    time.sleep(0.05)
                if sent.acked and sent.echo:
                    sent.echoed = not isinstance(_post(http, sent), str)


@dataclasses.dataclass
class Seen:
    """A step result observed as saved through the REST API."""

    run_id: str
    step: str
    output: Any
    at: float  # the response carrying it had been received by then


class Observer(threading.Thread):
    """Discovers runs, releases waiting runs, and samples saved step results (see module doc)."""

    def __init__(self, url: str, events_by_id: dict[str, Sent], rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.url, self.events_by_id, self.rng = url, events_by_id, rng
        self.runs: dict[str, dict[str, Any]] = {}  # run id -> run as last listed
        self.releases: dict[str, Sent] = {}  # waiter run id -> its release event
        self.seen: dict[tuple[str, str], Seen] = {}  # first sighting of each saved step
        self.changed: list[tuple[Seen, Any]] = []  # a saved value seen to change
        self.samples = 0
        self._running: list[str] = []
        self._gate_polled: dict[str, float] = {}
        self._hold: dict[str, float] = {}  # waiter run -> when to release it
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=3.0) as http:
            last_list = 0.0
            while not self._halt.is_set():
                try:
                    if time.time() - last_list > 0.3:
                        self._list_running(http)
                        last_list = time.time()
                    self._release_waiters(http)
                    self._sample(http)
                except httpx.HTTPError:
                    time.sleep(0.05)  # the engine is down; try again shortly
                time.sleep(0.03)

    def _list_running(self, http: httpx.Client) -> None:
        resp = http.get("/v1/runs", params={"status": "Running", "limit": 500})
        if resp.status_code != 200:
            return
        running = resp.json()["data"]
        with self._lock:
            for run in running:
                self.runs[run["run_id"]] = run
        self._running = [run["run_id"] for run in running]

    def _release_waiters(self, http: httpx.Client) -> None:
        for run_id in list(self._running):
            run = self.runs[run_id]
            trigger = self.events_by_id.get(run["event_id"])
            if run.get("function_slug") != "chaos-waiter" or trigger is None:
                continue
            release = self.releases.get(run_id)
            if release is not None:
                if not release.acked:
                    post_once(http, release)  # the same body and seed as the first try
            elif run_id in self._hold:
                if time.time() >= self._hold[run_id]:
                    data = {"key": trigger.data["key"], "run": run_id}
                    release = make_event(self.rng, "chaos/release", data)
                    self.releases[run_id] = release
                    post_once(http, release)
            elif time.time() - self._gate_polled.get(run_id, 0.0) >= 0.25:
                self._gate_polled[run_id] = time.time()
                resp = http.get(f"/v1/runs/{run_id}/steps")
                if resp.status_code == 200 and any(
                    s["name"] == "gate" for s in resp.json()["data"]
                ):
                    self._hold[run_id] = time.time() + self.rng.uniform(*RELEASE_DELAY_S)

    def _sample(self, http: httpx.Client) -> None:
        if not self._running:
            return
        run_id = self.rng.choice(self._running)
        resp = http.get(f"/v1/runs/{run_id}/steps")
        at = time.time()
        if resp.status_code != 200:
            return
        self.samples += 1
        for step in resp.json()["data"]:
            if step["kind"] != "run" or step["status"] != "Completed":
                continue
            key = (run_id, step["name"])
            first = self.seen.get(key)
            if first is None:
                self.seen[key] = Seen(run_id, step["name"], step["output"], at)
            elif first.output != step["output"]:
                self.changed.append((first, step["output"]))

    def known_runs(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self.runs)

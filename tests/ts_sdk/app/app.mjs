// The scenarios of tests/conformance, written with the official TypeScript SDK (inngest 4.x)
// and served by its Node adapter. Driven by tests/ts_sdk (pytest), which starts one process
// per mode: CHECKPOINTING=on (the SDK's default) or off.
//
// Env: PORT, ENGINE_URL, APP_ID, CHECKPOINTING (on|off), TRANSPORT (http|connect: the functions
// take their calls over an Inngest Connect socket instead; the HTTP server then only answers
// the test's own routes).
// GET /journal answers what the functions noted (for assertions on side effects).
import http from "node:http";
import { Inngest, NonRetriableError } from "inngest";
import { serve } from "inngest/node";

const APP = process.env.APP_ID;
const checkpointing = process.env.CHECKPOINTING !== "off";
const inngest = new Inngest({
  id: APP,
  isDev: true,
  baseUrl: process.env.ENGINE_URL,
  // "on" leaves the option unset: the SDK's own default is what we test.
  ...(checkpointing ? {} : { checkpointing: false }),
});

const journal = [];
const note = (kind, value) => journal.push({ kind, value, at: Date.now() });
const ev = (short) => `${APP}/${short}`;
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const fn = (id, trigger, handler, extra = {}) =>
  inngest.createFunction({ id, triggers: [{ event: ev(trigger) }], ...extra }, handler);

const steps = fn("steps", "steps", async ({ event, step }) => {
  const a = await step.run("a", () => {
    note("ran", `${event.data.marker}:a`);
    return event.data.x + 1;
  });
  const b = await step.run("b", () => {
    note("ran", `${event.data.marker}:b`);
    return a * 10;
  });
  const c = await step.run("c", () => {
    note("ran", `${event.data.marker}:c`);
    return { a, b };
  });
  return { ...c, total: a + b };
});

const parallel = fn("parallel", "parallel", async ({ step }) => {
  const parts = await Promise.all(
    ["p1", "p2", "p3"].map((id) => step.run(id, () => id.toUpperCase())),
  );
  const after = await step.run("after", () => parts.join("+"));
  return { parts, after };
});

const retries = fn(
  "retries",
  "retries",
  async ({ event, step, attempt }) => {
    const value = await step.run("flaky", () => {
      note("flaky", { marker: event.data.marker, attempt });
      if (attempt < 2) throw new Error(`not yet (attempt ${attempt})`);
      return `ok after ${attempt}`;
    });
    return value;
  },
  { retries: 3 },
);

const nonRetriable = fn(
  "non-retriable",
  "non-retriable",
  async ({ event, step }) => {
    await step.run("gives-up", () => {
      note("gives-up", event.data.marker);
      throw new NonRetriableError("no point retrying");
    });
    return "unreachable";
  },
  { retries: 3 },
);

const sleeps = fn("sleep", "sleep", async ({ step }) => {
  const before = await step.run("before", () => Date.now());
  await step.sleep("nap", "1s");
  const after = await step.run("after", () => Date.now());
  return { slept_ms: after - before };
});

const waits = fn("wait", "wait", async ({ event, step }) => {
  const byIf = await step.waitForEvent("by-if", {
    event: ev("approve"),
    timeout: "20s",
    if: `async.data.marker == "${event.data.marker}" && async.data.ok == true`,
  });
  const byMatch = await step.waitForEvent("by-match", {
    event: ev("confirm"),
    timeout: "20s",
    match: "data.marker",
  });
  const none = await step.waitForEvent("times-out", {
    event: ev("never"),
    timeout: "1s",
  });
  return { if: byIf?.data ?? null, match: byMatch?.data ?? null, timeout: none };
});

const child = fn("child", "child", async ({ event }) => ({ doubled: event.data.n * 2 }));
const parent = fn("parent", "parent", async ({ event, step }) => {
  const result = await step.invoke("call-child", { function: child, data: { n: event.data.n } });
  return { child: result };
});

const cancellable = inngest.createFunction(
  {
    id: "cancellable",
    triggers: [{ event: ev("cancellable") }],
    cancelOn: [{ event: ev("stop"), match: "data.marker" }],
  },
  async ({ step }) => {
    await step.sleep("long", "60s");
    return "not cancelled";
  },
);

const failing = fn(
  "failing",
  "failing",
  async ({ event }) => {
    const error = new Error("intentional failure");
    error.name = "MyError";
    note("failing", event.data.marker);
    throw error;
  },
  {
    retries: 0,
    onFailure: async ({ event, error }) => {
      note("on-failure", {
        name: event.name,
        data: event.data,
        error: { name: error.name, message: error.message },
      });
    },
  },
);

const serial = fn(
  "serial",
  "serial",
  async ({ event, step }) =>
    step.run("work", async () => {
      note("enter", event.data.i);
      await pause(300);
      note("exit", event.data.i);
      return event.data.i;
    }),
  { concurrency: { limit: 1 } },
);

const throttled = fn(
  "throttled",
  "throttled",
  async ({ event, step }) => step.run("work", () => event.data.i),
  { throttle: { limit: 1, period: "1s" } },
);

const debounced = fn(
  "debounced",
  "debounced",
  async ({ event, step }) => step.run("work", () => event.data.i),
  { debounce: { period: "1s", key: "event.data.marker" } },
);

const sender = fn("sender", "sender", async ({ event, step }) => {
  const sent = await step.sendEvent("emit", {
    name: ev("sent"),
    data: { marker: event.data.marker },
  });
  return { ids: sent.ids.length };
});
const receiver = fn("receiver", "sent", async ({ event, step }) =>
  step.run("record", () => {
    note("received", event.data.marker);
    return event.data.marker;
  }),
);

const caught = fn(
  "caught",
  "caught",
  async ({ step }) => {
    try {
      await step.run("fails", () => {
        throw new Error("step broke");
      });
    } catch (err) {
      return { caught: err.message, name: err.name };
    }
    return "no error";
  },
  { retries: 0 },
);

const ai = fn(
  "ai",
  "ai",
  async ({ event, step }) => {
    const model = step.ai.models.openai({
      model: "gpt-test",
      apiKey: "sk-scripted",
      baseUrl: event.data.base_url,
    });
    const inferred = await step.ai.infer("ask", {
      model,
      body: { messages: [{ role: "user", content: event.data.question }] },
    });
    const wrapped = await step.ai.wrap("wrapped", async (q) => ({ echo: q }), event.data.question);
    return { inferred: inferred.choices[0].message.content, wrapped };
  },
  { retries: 0 },
);

// Step "a" is checkpointed, then step "b" holds the call open until the test opens the gate:
// the test kills the engine in between and shows "a" never runs again.
const opened = new Set();
const durable = fn("durable", "durable", async ({ event, step }) => {
  const a = await step.run("a", () => {
    note("durable-a", event.data.marker);
    return "a done";
  });
  const b = await step.run("b", async () => {
    note("durable-b", event.data.marker);
    while (!opened.has(event.data.marker)) await pause(50);
    return "b done";
  });
  return [a, b];
});

// bench/ts_checkpoint.py: N trivial sequential steps.
const chain = fn("chain", "chain", async ({ event, step }) => {
  let total = 0;
  for (let i = 0; i < event.data.n; i++) total += await step.run(`s${i}`, () => i);
  return total;
});

const functions = [
  steps, parallel, retries, nonRetriable, sleeps, waits, child, parent, cancellable, failing,
  serial, throttled, debounced, sender, receiver, caught, ai, durable, chain,
];
const handler = serve({ client: inngest, functions });

let sdkCalls = 0; // calls from the engine, for bench/ts_checkpoint.py
const server = http.createServer((req, res) => {
  if (req.url === "/calls") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ calls: sdkCalls }));
    return;
  }
  if (req.method === "POST" && req.url.startsWith("/api/inngest")) sdkCalls++;
  if (req.url === "/journal") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(journal));
    return;
  }
  if (req.url.startsWith("/gate/")) {
    opened.add(decodeURIComponent(req.url.slice("/gate/".length)));
    res.writeHead(200);
    res.end("open");
    return;
  }
  if (req.url === "/health") {
    res.writeHead(200);
    res.end("ok");
    return;
  }
  handler(req, res);
});
server.keepAliveTimeout = 5000;
server.listen(Number(process.env.PORT), "127.0.0.1", () => {
  console.log(`ts app ${APP} (checkpointing ${checkpointing ? "on" : "off"}) listening`);
});
if (process.env.TRANSPORT === "connect") {
  const { connect } = await import("inngest/connect");
  await connect({ apps: [{ client: inngest, functions }], instanceId: APP });
  console.log(`ts app ${APP} connected`);
}

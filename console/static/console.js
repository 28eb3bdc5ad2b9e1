// Loopwright console: the live parts (runs list, chat turn stream), the event editor's
// validation, and the overview charts. Everything from the server that came from a skill or
// an LLM is inserted as text (textContent), except row HTML the server rendered and escaped.
"use strict";

function liveRuns() {
  const table = document.querySelector("[data-live-runs]");
  if (!table || !window.EventSource) return;
  const body = table.tBodies[0];
  const state = document.getElementById("live-state");
  const source = new EventSource(table.dataset.liveRuns);
  source.addEventListener("run", (msg) => {
    const item = JSON.parse(msg.data);
    const tpl = document.createElement("template");
    tpl.innerHTML = item.html.trim();
    const row = tpl.content.firstElementChild;
    const old = document.getElementById("run-" + item.id);
    if (old) {
      if (old.outerHTML !== row.outerHTML) old.replaceWith(row);
    } else {
      const empty = body.querySelector(".empty-row");
      if (empty) empty.remove();
      row.classList.add("flash-new");
      body.prepend(row);
      while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
    }
  });
  source.addEventListener("down", (msg) => {
    if (state) state.textContent = "Live updates paused: " + JSON.parse(msg.data).message;
  });
  source.addEventListener("open", () => {
    if (state) state.dataset.connected = "true";
  });
}

const CHAT_TEXT = {
  "turn.queued": (e) => e.ahead ? `queued behind ${e.ahead} turn(s)` : "queued",
  "turn.started": () => "turn started",
  "model.reply": (e) => (e.content || "").trim() || (e.tool_calls ? "(calling tools)" : "(reply)"),
  "tool.started": (e) => `→ ${e.name}(${Object.keys(e.arguments || {}).filter((k) => ["id", "name", "version", "mode"].includes(k)).map((k) => `${k}=${JSON.stringify(e.arguments[k])}`).join(", ")})`,
  "tool.result": (e) => toolResult(e),
  "compaction": (e) => `compacted ${e.folded} earlier messages`,
  "critic": (e) => `reviewer score ${Number(e.score || 0).toFixed(2)} ${(e.notes || []).join("; ")}`,
  "budget.exhausted": (e) => `budget: ${e.message}`,
  "turn.finished": (e) => e.reply || e.reason || "finished",
};

function toolResult(e) {
  if (!e.ok) return `✗ ${e.name} failed`;
  const check = e.check || {};
  const data = e.data || {};
  if (check.kind === "validation") {
    const report = data.report || {};
    const findings = (report.findings || []).map((f) => `  ${report.file}:${f.line}: ${f.severity} [${f.rule}] ${f.message}`);
    const head = check.ok ? `✓ validated (version ${data.version}, ${data.state})` : `✗ validation failed (version ${data.version}, ${data.state})`;
    return [head, ...findings].join("\n");
  }
  if (check.kind === "test") return check.ok ? "✓ test run passed" : `✗ test run failed: ${check.problem || ""}`;
  return `✓ ${e.name}`;
}

function chatStream() {
  const log = document.querySelector("[data-chat-stream]");
  if (!log || !window.EventSource) return;
  const seen = new Set();
  const source = new EventSource(log.dataset.chatStream);
  const add = (kind, text, extra) => {
    const li = document.createElement("li");
    li.dataset.kind = kind;
    const k = document.createElement("span");
    k.className = "ev-kind";
    k.textContent = kind;
    const t = document.createElement("span");
    t.className = "ev-text";
    t.textContent = text;
    li.append(k, t);
    if (extra) li.append(extra);
    log.append(li);
  };
  for (const kind of Object.keys(CHAT_TEXT)) {
    source.addEventListener(kind, (msg) => {
      if (seen.has(msg.lastEventId)) return;
      seen.add(msg.lastEventId);
      const e = JSON.parse(msg.data);
      let extra = null;
      if (kind === "turn.finished") {
        const parts = [];
        if (e.skill && e.skill.id) {
          const a = document.createElement("a");
          a.href = "/skills/" + encodeURIComponent(e.skill.id);
          a.className = "skill-review";
          a.textContent = `review skill ${e.skill.id} (${e.skill.state})`;
          parts.push(a);
        }
        if (e.cost_usd !== undefined && e.cost_usd !== null) {
          const c = document.createElement("span");
          c.className = "hint";
          c.textContent = ` · budget used $${Number(e.cost_usd).toFixed(4)}`;
          parts.push(c);
        }
        if (parts.length) {
          extra = document.createElement("div");
          extra.append(...parts);
        }
      }
      add(kind, CHAT_TEXT[kind](e), extra);
    });
  }
  source.addEventListener("down", (msg) => add("down", JSON.parse(msg.data).message));
}

function eventEditor() {
  const form = document.getElementById("event-form");
  if (!form) return;
  const area = document.getElementById("event-json");
  const out = document.getElementById("event-error");
  const check = () => {
    let value;
    try {
      value = JSON.parse(area.value);
    } catch (err) {
      return `Invalid JSON: ${err.message}. Nothing was sent.`;
    }
    if (!value || typeof value !== "object" || Array.isArray(value)) return 'The event must be a JSON object: {"name": "...", "data": {...}}.';
    if (typeof value.name !== "string" || !value.name.trim()) return 'The event needs a "name" (a non-empty string). Nothing was sent.';
    if (value.data !== undefined && (typeof value.data !== "object" || value.data === null || Array.isArray(value.data))) return '"data" must be a JSON object. Nothing was sent.';
    return "";
  };
  form.addEventListener("submit", (ev) => {
    const problem = check();
    out.textContent = problem;
    area.setAttribute("aria-invalid", problem ? "true" : "false");
    if (problem) {
      ev.preventDefault();
      area.focus();
    }
  });
  area.addEventListener("input", () => {
    if (out.textContent) out.textContent = check();
  });
}

function charts() {
  const data = document.getElementById("chart-data");
  if (!data || !window.uPlot) return;
  const series = JSON.parse(data.textContent);
  for (const el of document.querySelectorAll(".chart[data-service]")) {
    const s = series[el.dataset.service];
    if (!s) continue;
    const pts = s.points;
    const xs = pts.map((p) => p[0]);
    const err = pts.map((p) => (p[1] === null ? null : p[1] * 100));
    const p95 = pts.map((p) => (p[2] === null ? null : p[2] * 1000));
    const marks = pts.filter((p) => p[3] && p[3] !== "normal");
    const opts = {
      width: Math.min(el.clientWidth || 800, 1100), height: 170,
      series: [{}, { label: "error rate %", stroke: "#a4161a", scale: "%" }, { label: "p95 ms", stroke: "#0b4fa8", scale: "ms" }],
      axes: [{}, { scale: "%", label: "error %" }, { scale: "ms", side: 1, label: "p95 ms", grid: { show: false } }],
      hooks: { draw: [(u) => {
        const ctx = u.ctx;
        ctx.save();
        for (const m of marks) {
          const x = u.valToPos(m[0], "x", true);
          ctx.strokeStyle = m[3] === "critical" ? "#a4161a" : "#b36b00";
          ctx.lineWidth = 2;
          ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
        }
        ctx.restore();
      }] },
    };
    new window.uPlot(opts, [xs, err, p95], el);
  }
}

// The live streams open after the first paint: a stream answers at once with its snapshot,
// and handling those events before painting held the runs page's first paint back by ~100 ms.
function afterFirstPaint(fn) {
  requestAnimationFrame(() => setTimeout(fn, 0));
}

document.addEventListener("DOMContentLoaded", () => {
  eventEditor();
  charts();
  afterFirstPaint(() => {
    liveRuns();
    chatStream();
  });
});

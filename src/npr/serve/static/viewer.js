// The npr reasoning-tree viewer. Everything it needs is served by npr itself: no CDN, no other host.
// Live questions stream from /v1/chat/completions (the same API any client uses); each chunk's choice carries
// `npr.tokens` (every token with its block and branch) and `npr.events` (fork, join); the last one carries the
// exact tree the server built from the engine's trajectory, which replaces the live sketch.
"use strict";

const $ = (id) => document.getElementById(id);
const TAG = /<\/?(guideline|plan|step|takeaway)>/g;
const strip = (s) => (s || "").replace(TAG, "").trim();
let info = { mode: "view" };
let items = [];
let controller = null;
let pending = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

function fmt(x, digits) {
  return x === null || x === undefined ? "–" : (digits ? Number(x).toFixed(digits) : String(x));
}

// ---- drawing --------------------------------------------------------------------------------------------------

function draw(view) {
  const root = $("view");
  root.replaceChildren();
  if (view.title) root.append(el("h2", null, view.title));
  if (view.question) root.append(el("div", "question", view.question));
  view.blocks.forEach((b, i) => {
    const card = el("div", "block");
    card.append(el("h3", null, `block ${i + 1} · ${b.branches.length || b.plans.length} plan${(b.branches.length || b.plans.length) === 1 ? "" : "s"}`));
    if (b.plans.length) {
      const ol = el("ol", "plans");
      b.plans.forEach((p) => ol.append(el("li", "text", p)));
      card.append(ol);
    }
    const row = el("div", "branches");
    b.branches.forEach((br, j) => {
      const col = el("div", "branch" + (br.closed === false ? " cut" : ""));
      col.dataset.block = i;
      col.dataset.branch = j;
      const tokens = br.tokens === null || br.tokens === undefined ? "" : ` · ${br.tokens} tokens`;
      col.append(el("h4", null, `branch ${j + 1}${tokens}${br.closed === false ? " · cut off" : ""}`));
      col.append(el("div", "text", br.text));
      row.append(col);
    });
    card.append(row);
    if (b.takeaway) {
      const t = el("div", "takeaway");
      const tokens = b.takeaway.tokens === null || b.takeaway.tokens === undefined ? "" : ` · ${b.takeaway.tokens} tokens`;
      t.append(el("h4", null, "takeaway" + tokens), el("div", "text", b.takeaway.text));
      card.append(t);
    }
    root.append(card);
  });
  if (view.conclusion || view.answer !== undefined) {
    const c = el("div", "conclusion");
    c.append(el("h4", null, view.blocks.length ? "conclusion" : "response"), el("div", "text", view.conclusion || ""));
    if (view.answer !== undefined) {
      const ok = view.correct === true ? " ok" : view.correct === false ? " bad" : "";
      let line = "answer: " + (view.answer === null ? "(no \\boxed{} answer)" : view.answer);
      if (view.gold !== undefined && view.gold !== null) line += `   ·   gold: ${view.gold}`;
      c.append(el("div", "answer" + ok, line));
    }
    root.append(c);
  }
  const s = view.stats || {};
  const stats = el("div", "stats");
  const put = (label, value) => { const d = el("span", null, label + " "); d.append(el("b", null, value)); stats.append(d); };
  put("tokens", fmt(s.total_tokens));
  put("critical path", fmt(s.critical_path_tokens));
  put("ideal speedup", s.ideal_speedup ? fmt(s.ideal_speedup, 2) + "×" : "–");
  put("forks", fmt(s.forks));
  put("finish", view.finish || "…");
  if (view.elapsed !== undefined) put("time", view.elapsed.toFixed(1) + " s");
  root.append(stats);
  if (view.error) root.append(el("p", "error", view.error));
}

function fromTree(tree, extra) {
  return Object.assign({
    blocks: tree.blocks.map((b) => ({
      plans: b.plans.map((p) => (p.number === null ? p.text : `${p.text}`)),
      branches: b.branches.map((br) => ({ text: br.text, tokens: br.tokens, closed: br.closed })),
      takeaway: b.takeaway,
    })),
    conclusion: tree.conclusion.text,
    answer: tree.answer,
    stats: tree.stats,
    finish: tree.finish_reason,
  }, extra || {});
}

// ---- asking (live) --------------------------------------------------------------------------------------------

function newLive(question) {
  return { question, blocks: [], conclusion: "", phase: "text", raw: "", stats: {}, finish: null, started: performance.now() };
}

function plansOf(text) {
  const out = [];
  const re = /<plan>([\s\S]*?)(<\/plan>|$)/g;
  let m;
  while ((m = re.exec(text)) !== null) out.push(m[1].trim().replace(/^\d+:\s*/, ""));
  return out;
}

function onToken(live, t) {
  live.stats.total_tokens = (live.stats.total_tokens || 0) + 1;
  const cur = live.blocks[live.blocks.length - 1];
  if (t.branch !== null && t.branch !== undefined && cur) {
    const br = cur.branches[t.branch];
    if (br) { br.raw += t.text; br.text = strip(br.raw); br.tokens += 1; }
    return;
  }
  if (t.text === "<guideline>") {
    live.blocks.push({ guideline: "", plans: [], branches: [], takeaway: null });
    live.conclusion = "";
    live.phase = "guideline";
  } else if (live.phase === "guideline" && cur) {
    cur.guideline += t.text;
    cur.plans = plansOf(cur.guideline);
  } else if (live.phase === "takeaway" && cur) {
    if (t.text === "</takeaway>") live.phase = "text";
    else if (t.text !== "<takeaway>") { cur.takeaway.raw += t.text; cur.takeaway.text = strip(cur.takeaway.raw); cur.takeaway.tokens += 1; }
  } else {
    live.conclusion += t.text;
  }
}

function onEvent(live, ev) {
  const cur = live.blocks[live.blocks.length - 1];
  if (!cur) return;
  if (ev.type === "fork") {
    cur.branches = Array.from({ length: ev.branches }, () => ({ raw: "", text: "", tokens: 0, closed: true }));
    live.phase = "steps";
  } else if (ev.type === "join") {
    cur.takeaway = { raw: "", text: "", tokens: 0 };
    live.phase = "takeaway";
  }
}

// At most one drawing per frame while tokens pour in; it always draws the latest view.
let latest = null;
function redraw(view) {
  latest = view;
  if (pending) return;
  pending = requestAnimationFrame(() => { pending = null; draw(latest); });
}

function drawNow(view) {
  if (pending) { cancelAnimationFrame(pending); pending = null; }
  draw(view);
}

async function ask() {
  const question = $("question").value.trim();
  if (!question) { $("question").focus(); return; }
  const body = {
    messages: [{ role: "user", content: question }],
    stream: true,
    stream_options: { include_usage: true },
    temperature: Number($("temperature").value || 0),
    npr: { mode: $("mode").value },
  };
  const max = $("max-tokens").value;
  if (max) body.max_tokens = Number(max);
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value;
  if (key) headers.Authorization = "Bearer " + key;
  controller = new AbortController();
  $("ask").disabled = true;
  $("stop").disabled = false;
  let live = newLive(question);
  draw(live);
  try {
    const r = await fetch("/v1/chat/completions", { method: "POST", headers, body: JSON.stringify(body), signal: controller.signal });
    if (!r.ok) {
      const err = await r.json().catch(() => ({ error: { message: r.statusText } }));
      live.error = `${r.status}: ${err.error ? err.error.message : r.statusText}`;
      draw(live);
      return;
    }
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const line = buf.slice(0, cut).trim();
        buf = buf.slice(cut + 2);
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) { live.error = chunk.error.message; continue; }
        for (const choice of chunk.choices || []) {
          const npr = choice.npr || {};
          const tokens = npr.tokens || [];
          const events = npr.events || [];
          // an event's `at` is the number of this chunk's tokens that came before it
          let e = 0;
          tokens.forEach((t, k) => {
            while (e < events.length && events[e].at <= k) onEvent(live, events[e++]);
            onToken(live, t);
          });
          while (e < events.length) onEvent(live, events[e++]);
          if (npr.tree) {
            const elapsed = (performance.now() - live.started) / 1000;
            live = Object.assign(fromTree(npr.tree, { question, elapsed }), { started: live.started });
          }
        }
        live.elapsed = (performance.now() - live.started) / 1000;
        redraw(live);
      }
    }
  } catch (e) {
    if (e.name !== "AbortError") live.error = String(e);
    else live.finish = live.finish || "stopped";
  } finally {
    controller = null;
    $("ask").disabled = false;
    $("stop").disabled = true;
    drawNow(live);
  }
}

// ---- saved results --------------------------------------------------------------------------------------------

function showItems(data) {
  items = data.items || [];
  $("problems").textContent = (data.problems || []).slice(0, 20).join("\n");
  const list = $("items");
  list.replaceChildren();
  items.forEach((it, i) => {
    const li = el("li", it.correct === true ? "ok" : it.correct === false ? "bad" : "", it.title);
    li.addEventListener("click", () => select(i));
    list.append(li);
  });
  if (items.length) select(0);
}

function select(i) {
  const it = items[i];
  [...$("items").children].forEach((li, j) => li.classList.toggle("on", j === i));
  draw(fromTree(it.tree, { title: it.title, question: it.question, gold: it.gold, correct: it.correct }));
}

async function loadFile(file) {
  const headers = {};
  if ($("api-key").value) headers.Authorization = "Bearer " + $("api-key").value;
  const r = await fetch("/npr/trees", { method: "POST", headers, body: await file.text() });
  const data = await r.json();
  if (!r.ok) { $("problems").textContent = data.error ? data.error.message : r.statusText; return; }
  showItems(data);
}

async function start() {
  try {
    info = await (await fetch("/npr/info")).json();
  } catch (e) {
    $("status").textContent = "the server cannot be reached";
    return;
  }
  if (info.mode === "serve") {
    $("ask-panel").hidden = false;
    $("key-label").hidden = !info.auth;
    $("status").textContent = `model ${info.model} · ${info.state}`;
  } else {
    $("status").textContent = `saved results: ${info.source || ""}`;
    showItems(await (await fetch("/npr/preloaded")).json());
  }
  $("ask").addEventListener("click", ask);
  $("stop").addEventListener("click", () => controller && controller.abort());
  $("question").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) ask(); });
  $("file").addEventListener("change", (e) => e.target.files[0] && loadFile(e.target.files[0]));
}

start();

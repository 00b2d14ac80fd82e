// The eventlog console: reads the log through the REST API of the server
// that serves it. No inline script (the page's CSP forbids it), no other
// origin, and nothing here writes.
"use strict";

const FILTERS = ["event_type", "actor", "content_type", "object_id", "source_id", "start_time", "end_time"];
const TYPES = ["CREATE", "DELETE", "EDIT", "FETCH", "LOGIN", "LOGOUT", "LOGIN_FAILED"];
const KEY = "eventlog.key";
const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";

// ---- small DOM helpers ----

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function main() { return document.getElementById("main"); }

function show(...nodes) {
  const m = main();
  m.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
}

function stateBox(text, cls, ...extra) {
  return h("p", { class: "state " + (cls || ""), role: cls === "error" ? "alert" : "status" }, text, ...extra);
}

// ---- the API ----

class APIError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

function authHeaders() {
  const k = sessionStorage.getItem(KEY);
  return k ? { Authorization: "Bearer " + k } : {};
}

async function api(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const url = path + (q.toString() ? "?" + q : "");
  let res;
  try {
    res = await fetch(url, { headers: { Accept: "application/json", ...authHeaders() }, cache: "no-store" });
  } catch (e) {
    throw new APIError(0, 14, "The server cannot be reached. Check that eventlog serve is running, then retry.");
  }
  const text = await res.text();
  let body = {};
  try { body = text ? JSON.parse(text) : {}; } catch (e) { body = { message: text }; }
  if (!res.ok) throw new APIError(res.status, body.code, body.message || res.statusText);
  return body;
}

// errorView turns an API error into a state that says what to do.
function errorView(err, retry) {
  if (err.status === 401) return keyForm(err.message, retry);
  const retryButton = retry ? h("button", { type: "button", onclick: retry }, "Retry") : null;
  if (err.status === 403) {
    return stateBox("This key may not read the log (" + err.message + "). Use a key with the read scope. ", "error",
      h("button", { type: "button", onclick: () => { sessionStorage.removeItem(KEY); retry && retry(); } }, "Use another key"));
  }
  if (err.status === 400) return stateBox("The filter is not valid: " + err.message + ". Correct it above and apply again.", "error");
  if (err.status === 0) return stateBox(err.message, "error", retryButton);
  return stateBox("The server answered " + err.status + ": " + err.message, "error", retryButton);
}

// keyForm asks for an API key, once per tab.
function keyForm(message, retry) {
  const input = h("input", { type: "password", id: "key", name: "key", autocomplete: "off", required: true, "aria-describedby": "key-help" });
  const form = h("form", { class: "card", id: "key-form", onsubmit: (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    updateSignout();
    retry ? retry() : route();
  } },
  h("h2", {}, "API key needed"),
  h("p", { id: "key-help" }, (sessionStorage.getItem(KEY) ? "The key was refused (" + message + "). " : "") +
    "This server requires an API key with the read scope. It is kept in this tab only, and sent to this server only."),
  h("label", { for: "key" }, "API key "), input, " ", h("button", { type: "submit", class: "primary" }, "Use key"));
  setTimeout(() => input.focus(), 0);
  return form;
}

function updateSignout() {
  const b = document.getElementById("signout");
  b.hidden = !sessionStorage.getItem(KEY);
}

// ---- formatting ----

function fmtTime(s) {
  if (!s) return "";
  const d = new Date(s);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function typeName(t) { return (t || "").replace(/^EVENT_TYPE_/, ""); }

function actorName(a) { a = a || {}; return a.name || a.id || "—"; }

function hex(b64) {
  if (!b64) return "";
  const bin = atob(b64);
  let out = "";
  for (let i = 0; i < bin.length; i++) out += bin.charCodeAt(i).toString(16).padStart(2, "0");
  return out;
}

// toLocalInput turns an RFC 3339 time into a datetime-local value, in the
// browser's time zone; fromLocalInput does the reverse.
function toLocalInput(s) {
  if (!s) return "";
  const d = new Date(s);
  if (isNaN(d)) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function fromLocalInput(v) {
  if (!v) return "";
  const d = new Date(v);
  return isNaN(d) ? "" : d.toISOString();
}

// ---- URLs ----

function params() { return new URLSearchParams(location.search); }

function filtersFrom(p) {
  const f = {};
  for (const k of FILTERS) if (p.get(k)) f[k] = p.get(k);
  return f;
}

function link(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  return path + (q.toString() ? "?" + q : "");
}

function go(url) { history.pushState(null, "", url); route(); }

// Links inside the app navigate without reloading the page.
document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a");
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/ui/")) return;
  ev.preventDefault();
  go(url.pathname + url.search);
});
window.addEventListener("popstate", () => route());

// ---- the filter form ----

function filterForm(page, extra) {
  const p = params();
  const f = filtersFrom(p);
  const input = (name, label, attrs) => h("label", {}, label,
    h("input", { name, value: f[name] || "", ...attrs }));
  const typeSel = h("select", { name: "event_type" }, h("option", { value: "" }, "any"),
    TYPES.map((t) => h("option", { value: t, selected: typeName(f.event_type || "").toUpperCase() === t }, t)));
  const start = h("input", { type: "datetime-local", step: "1", name: "start_local", value: toLocalInput(f.start_time) });
  const end = h("input", { type: "datetime-local", step: "1", name: "end_local", value: toLocalInput(f.end_time) });
  const fields = [
    h("label", {}, "Type", typeSel),
    input("actor", "Actor (id or name)"),
    input("content_type", "Content type"),
    input("object_id", "Object id"),
    input("source_id", "Source id (0: originals)", { inputmode: "numeric", pattern: "[0-9]*" }),
    h("label", {}, "From", start),
    h("label", {}, "To", end),
  ];
  if (extra) fields.push(...extra(p));
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filters", onsubmit: (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const q = {};
    for (const [k, v] of data.entries()) if (!k.endsWith("_local") && v !== "") q[k] = v;
    q.start_time = fromLocalInput(data.get("start_local"));
    q.end_time = fromLocalInput(data.get("end_local"));
    go(link(page, q));
  } }, fields,
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Apply"),
    h("a", { class: "button", href: page }, "Clear")));
  return [form, h("p", { class: "tz" }, "Times are shown and entered in your time zone, " + TZ + " (UTC" + utcOffset() + ").")];
}

function utcOffset() {
  const m = -new Date().getTimezoneOffset();
  const s = m >= 0 ? "+" : "-";
  const a = Math.abs(m);
  return s + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
}

function describeFilters(f) {
  if (f.content_type && f.object_id && Object.keys(f).length === 2) return `History of ${f.content_type} ${f.object_id}`;
  if (f.actor && Object.keys(f).length === 1) return `History of actor ${f.actor}`;
  return "Log";
}

// ---- rows ----

function eventRows(events, opts) {
  const tbody = h("tbody");
  for (const e of events) {
    const open = () => go(link("/ui/entry", { id: e.id }));
    const a = e.actor || {};
    const tr = h("tr", { tabindex: "0", "data-id": e.id, onclick: (ev) => { if (!ev.target.closest("a")) open(); },
      onkeydown: (ev) => { if (ev.key === "Enter" && ev.target === tr) open(); } },
    h("td", { class: "time" }, h("a", { href: link("/ui/entry", { id: e.id }), "aria-label": "Entry " + e.id }, fmtTime(e.time))),
    h("td", {}, h("span", { class: "type" }, typeName(e.eventType))),
    h("td", {}, h("a", { href: link("/ui/", { actor: a.id || a.name }), title: "History of this actor" }, actorName(a))),
    h("td", { class: "object" }, h("a", { href: link("/ui/", { content_type: e.contentType, object_id: e.objectId }), title: "History of this object" },
      `${e.contentType} ${e.objectId}`), e.objectRepr ? " · " + e.objectRepr : ""),
    h("td", { class: "marker" }, e.sourceId && e.sourceId !== "0"
      ? h("a", { href: link("/ui/entry", { id: e.sourceId }), title: "Propagated from entry " + e.sourceId }, "↳ from #" + e.sourceId)
      : "#" + e.id));
    tbody.append(tr);
  }
  return h("table", { class: "events" }, h("thead", {}, h("tr", {},
    h("th", {}, "Time"), h("th", {}, "Type"), h("th", {}, "Actor"), h("th", {}, "Object"), h("th", {}, opts && opts.markerTitle || "Entry"))), tbody);
}

// ---- pages ----

async function logPage() {
  const p = params();
  const f = filtersFrom(p);
  const order = p.get("order") === "asc" ? "asc" : "desc";
  const size = p.get("page_size") || "50";
  const token = p.get("page_token") || "";
  const heading = h("h1", {}, describeFilters(f));
  const form = filterForm("/ui/", () => [
    h("label", {}, "Order", h("select", { name: "order" },
      h("option", { value: "desc", selected: order === "desc" }, "Newest first"),
      h("option", { value: "asc", selected: order === "asc" }, "Oldest first"))),
    h("label", {}, "Page size", h("select", { name: "page_size" },
      ["20", "50", "100", "200", "500"].map((n) => h("option", { value: n, selected: n === size }, n)))),
  ]);
  const tools = h("p", {}, h("a", { href: link("/ui/live", f) }, "Follow live"), " · ",
    h("a", { href: link("/ui/timeline", f) }, "Timeline"));
  const results = h("section", { "aria-live": "polite" }, stateBox("Loading entries…"));
  show(heading, form, tools, results);
  const load = async () => {
    results.replaceChildren(stateBox("Loading entries…"));
    let resp;
    try {
      resp = await api("/v1/events", { ...f, page_size: size, page_token: token, order_by: order === "asc" ? "id asc" : "" });
    } catch (err) {
      results.replaceChildren(errorView(err, load));
      return;
    }
    const events = resp.events || [];
    // Pages: the token of the page before each one is remembered in this
    // tab, so that "newer" goes back exactly.
    const here = location.pathname + location.search;
    const prev = sessionStorage.getItem("prev:" + here);
    const pager = h("nav", { class: "pager", "aria-label": "Pages" },
      h("button", { type: "button", id: "newer", disabled: !token, onclick: () => {
        go(prev || link("/ui/", { ...f, order: p.get("order"), page_size: p.get("page_size") }));
      } }, order === "asc" ? "← Older" : "← Newer"),
      h("button", { type: "button", id: "older", disabled: !resp.nextPageToken, onclick: () => {
        const next = link("/ui/", { ...f, order: p.get("order"), page_size: p.get("page_size"), page_token: resp.nextPageToken });
        sessionStorage.setItem("prev:" + next, here);
        go(next);
      } }, order === "asc" ? "Newer →" : "Older →"),
      h("span", { class: "info" }, events.length ? `${events.length} entries, #${events[0].id} to #${events[events.length - 1].id}` : ""));
    if (!events.length) {
      results.replaceChildren(stateBox(Object.keys(f).length
        ? "No entry matches these filters. Widen them, or clear them to see the whole log."
        : "The log is empty. Entries appear here once services write them (POST /v1/events)."), pager);
      return;
    }
    results.replaceChildren(eventRows(events), pager);
  };
  await load();
}

function isObj(v) { return v && typeof v === "object" && !Array.isArray(v); }

// diffView shows details that carry before and after values side by side.
function diffView(details) {
  let before, after;
  if (isObj(details.before) && isObj(details.after)) { before = details.before; after = details.after; }
  else if (isObj(details.changes)) {
    before = {}; after = {};
    for (const [k, v] of Object.entries(details.changes)) {
      if (Array.isArray(v) && v.length === 2) { before[k] = v[0]; after[k] = v[1]; }
      else if (isObj(v) && ("old" in v || "new" in v)) { before[k] = v.old; after[k] = v.new; }
      else if (isObj(v) && ("before" in v || "after" in v)) { before[k] = v.before; after[k] = v.after; }
    }
    if (!Object.keys(before).length) return null;
  } else return null;
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const show = (v) => v === undefined ? "—" : JSON.stringify(v, null, 2);
  return h("table", { class: "diff", "aria-label": "Changes" },
    h("thead", {}, h("tr", {}, h("th", {}, "Field"), h("th", {}, "Before"), h("th", {}, "After"))),
    h("tbody", {}, keys.map((k) => {
      const changed = JSON.stringify(before[k]) !== JSON.stringify(after[k]);
      return h("tr", { class: changed ? "changed" : "" }, h("td", {}, k),
        h("td", { class: "before" }, show(before[k])), h("td", { class: "after" }, show(after[k])));
    })));
}

function eventCard(e, title) {
  return h("div", { class: "card", id: "source-card" }, h("strong", {}, title), " ",
    h("a", { href: link("/ui/entry", { id: e.id }) }, "#" + e.id), " · ", fmtTime(e.time), " · ",
    h("span", { class: "type" }, typeName(e.eventType)), " by ", actorName(e.actor), " on ",
    `${e.contentType} ${e.objectId}`, e.objectRepr ? " (" + e.objectRepr + ")" : "");
}

async function entryPage() {
  const id = params().get("id");
  if (!id || !/^[0-9]+$/.test(id)) { show(h("h1", {}, "Entry"), stateBox("No entry named: open one from the log.", "error")); return; }
  show(h("h1", {}, "Entry #" + id), stateBox("Loading entry…"));
  let resp;
  try { resp = await api("/v1/events/" + id); } catch (err) {
    show(h("h1", {}, "Entry #" + id), err.status === 404 ? stateBox("There is no entry #" + id + ". The log's ids start at 1.", "error") : errorView(err, entryPage));
    return;
  }
  const e = resp.event;
  const a = e.actor || {};
  const r = e.request || {};
  const dl = (pairs) => h("dl", { class: "fields" }, pairs.filter((x) => x[1] !== undefined && x[1] !== "" && x[1] !== null)
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  const details = e.details || {};
  const diff = diffView(details);
  const children = h("section", { id: "children" });
  const source = h("section", { id: "source" });
  show(
    h("h1", {}, "Entry #" + e.id),
    dl([
      ["Time", fmtTime(e.time) + " (" + TZ + ") · " + e.time],
      ["Occurred", e.occurredTime ? fmtTime(e.occurredTime) : ""],
      ["Type", h("span", { class: "type" }, typeName(e.eventType))],
      ["Actor", h("span", {}, h("a", { href: link("/ui/", { actor: a.id || a.name }) }, actorName(a)),
        ` (id ${a.id || "—"}, ${(a.kind || "ACTOR_KIND_UNSPECIFIED").replace(/^ACTOR_KIND_/, "").toLowerCase()})`)],
      ["Object", h("a", { href: link("/ui/", { content_type: e.contentType, object_id: e.objectId }) }, `${e.contentType} ${e.objectId}`)],
      ["Shown as", e.objectRepr],
      ["Idempotency key", e.idempotencyKey],
    ]),
    diff ? [h("h2", {}, "Changes"), diff] : null,
    h("h2", {}, "Details"),
    h("pre", { id: "details" }, JSON.stringify(details, null, 2)),
    h("h2", {}, "Request"),
    Object.keys(r).length ? dl([
      ["Remote address", r.remoteAddr], ["Request", [r.method, r.path, r.protocol].filter(Boolean).join(" ")],
      ["Status", r.status ? String(r.status) : ""], ["User agent", r.userAgent], ["Request id", r.requestId],
    ]) : h("p", {}, "No request context was logged."),
    h("h2", {}, "Caused by"), source,
    h("h2", {}, "Caused"), children,
    h("h2", {}, "Chain"),
    dl([
      ["Position", "entry " + e.id + " of the log"],
      ["Hash", h("span", { class: "mono", id: "hash" }, hex(e.hash))],
      ["Previous hash", h("span", { class: "mono" }, hex(e.prevHash))],
      ["", h("a", { href: link("/ui/chain", { start_id: e.id, end_id: e.id }) }, "Verify this entry")],
    ]),
  );
  const pending = [];
  if (e.sourceId && e.sourceId !== "0") {
    source.append(stateBox("Loading the source entry…"));
    pending.push(api("/v1/events/" + e.sourceId).then((s) => source.replaceChildren(eventCard(s.event, "Source entry")),
      (err) => source.replaceChildren(errorView(err))));
  } else source.append(h("p", {}, "Nothing: this is an original entry."));
  const n = Number(resp.childCount || 0);
  if (n === 0) children.append(h("p", {}, "No entry was propagated from this one."));
  else {
    children.append(stateBox("Loading " + n + " propagated entries…"));
    pending.push(api("/v1/events", { source_id: e.id, order_by: "id asc", page_size: 200 }).then((c) => {
      const list = c.events || [];
      children.replaceChildren(h("p", {}, n + " propagated " + (n === 1 ? "entry" : "entries") +
        (n > list.length ? `, the first ${list.length} shown (` : " (") , h("a", { href: link("/ui/", { source_id: e.id }) }, "all in the log"), ")"),
      eventRows(list));
    }, (err) => children.replaceChildren(errorView(err))));
  }
  await Promise.all(pending);
}

// ---- live ----

let liveStop = null;

async function livePage() {
  const f = filtersFrom(params());
  let paused = false;
  let held = [];
  let lastId = null;
  let received = 0;
  const status = h("span", { class: "status", id: "live-status", role: "status" }, "Connecting…");
  const count = h("span", { class: "status", id: "live-count" }, "");
  const pause = h("button", { type: "button", id: "pause", onclick: () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
    pause.setAttribute("aria-pressed", paused ? "true" : "false");
    if (!paused) { flush(held); held = []; }
    updateCount();
  } }, "Pause");
  const tbody = h("tbody", { id: "live-rows" });
  const table = h("table", { class: "events" }, h("thead", {}, h("tr", {},
    h("th", {}, "Time"), h("th", {}, "Type"), h("th", {}, "Actor"), h("th", {}, "Object"), h("th", {}, "Entry"))), tbody);
  const empty = stateBox("Waiting for new entries that match the filters…");
  show(h("h1", {}, "Live"), filterForm("/ui/live"), h("div", { class: "live-bar" }, pause, status, count), empty, table);
  const MAX_ROWS = 500;
  function updateCount() {
    count.textContent = received + " received" + (held.length ? ", " + held.length + " held while paused" : "");
  }
  function flush(events) {
    if (!events.length) return;
    empty.remove();
    const rows = eventRows(events.slice().reverse()).querySelector("tbody").children;
    tbody.prepend(...rows);
    while (tbody.children.length > MAX_ROWS) tbody.lastChild.remove();
  }
  const ctrl = new AbortController();
  if (liveStop) liveStop();
  liveStop = () => ctrl.abort();
  follow(); // in the background: the page is ready as it starts
  async function follow() {
  // The stream is read with fetch, not EventSource, so that the API key can
  // go in the Authorization header; Last-Event-ID resumes it as the server
  // documents.
  while (!ctrl.signal.aborted) {
    try {
      const headers = { Accept: "text/event-stream", ...authHeaders() };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const q = new URLSearchParams(f).toString();
      const res = await fetch("/v1/events:stream" + (q ? "?" + q : ""), { headers, signal: ctrl.signal, cache: "no-store" });
      if (!res.ok) {
        let body = {};
        try { body = JSON.parse(await res.text()); } catch (e) { /* not JSON */ }
        const err = new APIError(res.status, body.code, body.message || res.statusText);
        if (res.status === 401 || res.status === 403 || res.status === 400) {
          show(h("h1", {}, "Live"), filterForm("/ui/live"), errorView(err, livePage));
          return;
        }
        throw err;
      }
      status.textContent = "Connected" + (lastId !== null ? ", resumed after #" + lastId : "");
      status.className = "status ok";
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id = null, data = null, event = "message";
          for (const line of block.split("\n")) {
            if (line.startsWith("id: ")) id = line.slice(4);
            else if (line.startsWith("data: ")) data = (data === null ? "" : data + "\n") + line.slice(6);
            else if (line.startsWith("event: ")) event = line.slice(7);
          }
          if (event === "error") throw new APIError(503, 14, data ? JSON.parse(data).message : "stream error");
          if (id !== null) lastId = id;
          if (data !== null && event === "message") {
            const e = JSON.parse(data);
            received++;
            if (paused) held.push(e); else flush([e]);
            updateCount();
          }
        }
      }
      throw new APIError(0, 14, "the stream ended");
    } catch (err) {
      if (ctrl.signal.aborted) return;
      status.textContent = "Disconnected (" + err.message + "); reconnecting" + (lastId !== null ? " after #" + lastId : "") + "…";
      status.className = "status bad";
      await new Promise((r) => setTimeout(r, 1500));
    }
  }
  }
}

// ---- timeline ----

function widthFor(ms) {
  if (ms <= 6 * 3600e3) return ["BUCKET_WIDTH_MINUTE", 60e3, "minute"];
  if (ms <= 14 * 86400e3) return ["BUCKET_WIDTH_HOUR", 3600e3, "hour"];
  return ["BUCKET_WIDTH_DAY", 86400e3, "day"];
}

async function timelinePage() {
  const p = params();
  const f = filtersFrom(p);
  const now = new Date();
  let end = f.end_time ? new Date(f.end_time) : now;
  let start = f.start_time ? new Date(f.start_time) : new Date(end - 86400e3);
  const [width, ms, unit] = widthFor(end - start);
  // Without a range given, whole buckets: the counts kept per hour then
  // answer alone.
  if (!f.start_time) start = new Date(Math.floor(start / ms) * ms);
  if (!f.end_time) end = new Date(Math.ceil(end / ms) * ms - 1);
  const out = h("section", { "aria-live": "polite" }, stateBox("Counting…"));
  show(h("h1", {}, "Timeline"), filterForm("/ui/timeline"),
    h("p", {}, `Entries per ${unit} from ${fmtTime(start.toISOString())} to ${fmtTime(end.toISOString())}. Click a bar to narrow the range to it. `,
      h("a", { href: link("/ui/", { ...f, start_time: start.toISOString(), end_time: end.toISOString() }) }, "List these entries")), out);
  const load = async () => {
    let resp;
    try {
      resp = await api("/v1/events:count", { ...f, start_time: start.toISOString(), end_time: end.toISOString(), bucket_width: width });
    } catch (err) { out.replaceChildren(errorView(err, load)); return; }
    const counts = new Map((resp.counts || []).map((c) => [new Date(c.startTime).getTime(), Number(c.count)]));
    const first = new Date(resp.rangeStart).getTime();
    const last = new Date(resp.rangeEnd).getTime();
    const max = Math.max(1, ...counts.values());
    const chart = h("div", { class: "chart", id: "chart", role: "list", "aria-label": "Entries per " + unit });
    for (let t = first; t < last; t += ms) {
      const n = counts.get(t) || 0;
      const label = `${fmtTime(new Date(t).toISOString())}: ${n} ${n === 1 ? "entry" : "entries"}`;
      const bar = h(n ? "a" : "span", { class: "bar" + (n ? "" : " empty"), role: "listitem", title: label, "aria-label": label, "data-count": n,
        href: n ? link("/ui/timeline", { ...f, start_time: new Date(Math.max(t, start)).toISOString(), end_time: new Date(Math.min(t + ms, end) - 1).toISOString() }) : undefined });
      bar.style.height = (n ? Math.max(2, (100 * n) / max) : 0) + "%";
      chart.append(bar);
    }
    out.replaceChildren(
      h("p", { id: "total" }, `${resp.total || 0} entries in total.`),
      chart,
      h("div", { class: "axis" }, h("span", {}, fmtTime(new Date(first).toISOString())), h("span", {}, fmtTime(new Date(last).toISOString()))),
      ...(counts.size ? [] : [stateBox("No entry in this range. Widen the range or the filters.")]));
  };
  await load();
}

// ---- chain ----

async function chainPage() {
  const p = params();
  const out = h("section", { "aria-live": "polite" });
  const run = async () => {
    out.replaceChildren(stateBox("Verifying…"));
    let start = p.get("start_id") || "0";
    const endId = p.get("end_id") || "0";
    let checked = 0, resp;
    try {
      for (let i = 0; i < 100; i++) {
        resp = await api("/v1/chain:verify", { start_id: start, end_id: endId });
        checked += Number(resp.checkedCount || 0);
        if (resp.firstBreak || !resp.nextStartId || resp.nextStartId === "0") break;
        start = resp.nextStartId;
        out.replaceChildren(stateBox(`Verifying… ${checked} entries checked so far.`));
      }
    } catch (err) { out.replaceChildren(errorView(err, run)); return; }
    const br = resp.firstBreak;
    out.replaceChildren(
      br ? h("p", { id: "verdict", class: "bad-text", role: "alert" }, "The chain is broken at entry " + (br.id || "head") + ": " + br.message)
        : h("p", { id: "verdict", class: "ok-text" }, "The chain is intact: " + checked + " entries checked" + (resp.headChecked ? ", up to the head of the log." : ".")),
      h("dl", { class: "fields" },
        h("dt", {}, "Checked"), h("dd", {}, `${checked} entries, ids ${resp.startId || 0} to ${resp.endId || 0}`),
        h("dt", {}, "Hash of the last entry checked"), h("dd", { class: "mono" }, hex(resp.endHash) || "—"),
        h("dt", {}, "Head"), h("dd", {}, `entry ${resp.headId || 0}`, " ", h("span", { class: "mono" }, hex(resp.headHash))),
        br ? [h("dt", {}, "Kind of break"), h("dd", {}, (br.kind || "").replace(/^CHAIN_BREAK_KIND_/, "").toLowerCase())] : null),
      ...(br && br.id ? [h("p", {}, h("a", { href: link("/ui/entry", { id: br.id }) }, "Open entry #" + br.id))] : []));
  };
  show(h("h1", {}, "Chain"),
    h("p", {}, "Checks that every entry's hash matches its content and links to the one before it" +
      (p.get("start_id") ? `, for entries ${p.get("start_id")} to ${p.get("end_id") || "the end"}.` : ", over the whole log.")),
    h("p", {}, h("button", { type: "button", id: "verify", class: "primary", onclick: run }, "Verify again")), out);
  await run();
}

// ---- router ----

const ROUTES = { "/ui/": ["log", logPage], "/ui/entry": ["log", entryPage], "/ui/live": ["live", livePage],
  "/ui/timeline": ["timeline", timelinePage], "/ui/chain": ["chain", chainPage] };

async function route() {
  if (liveStop) { liveStop(); liveStop = null; }
  const [name, page] = ROUTES[location.pathname] || ["", null];
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  document.title = (name ? name[0].toUpperCase() + name.slice(1) + " · " : "") + "eventlog";
  if (!page) { show(stateBox("No such page.", "error", " ", h("a", { href: "/ui/" }, "Open the log"))); return; }
  document.body.dataset.ready = "";
  try { await page(); } finally {
    document.body.dataset.ready = name;
    performance.mark("eventlog:ready:" + name); // the page is shown: read by make bench
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signout").addEventListener("click", () => { sessionStorage.removeItem(KEY); updateSignout(); route(); });
  updateSignout();
  route();
});

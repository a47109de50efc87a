// The zmesh dashboard: polls /api/state (every 2 s, only the throughput samples it has
// not seen) and /api/topology (every 10 s) and draws them. No library, no network but
// the node's own address; everything written into the page goes through textContent.
"use strict";

const POLL_MS = 2000;
const TOPOLOGY_MS = 10000;
const SVG_NS = "http://www.w3.org/2000/svg";

let lastSeq = 0;
let samples = [];  // [seq, unix_ms, in, out, cells, circuits, streams, peers]
let historySeconds = 600;
let lastTopology = 0;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4))
                                   : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function bytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i === 0 ? Math.round(n) : n.toFixed(1)) + " " + units[i];
}

function duration(s) {
  s = Math.floor(s);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
}

function fillTable(table, rows) {
  const body = table.tBodies[0];
  body.replaceChildren(...rows);
}

function cells(values) {
  const tr = el("tr");
  for (const v of values) {
    const td = el("td");
    if (v instanceof Node) td.append(v); else td.textContent = v;
    tr.append(td);
  }
  return tr;
}

function renderNode(s) {
  const n = s.node;
  $("node-id").textContent = n.id ? n.id.slice(0, 16) : "(starting)";
  $("node-roles").textContent = n.roles.join(" + ");
  $("node-version").textContent = "v" + n.version;
  $("node-uptime").textContent = "up " + duration(n.uptime_seconds);
  const b = s.bootstrap;
  $("bootstrap-bar").style.width = b.percent + "%";
  $("bootstrap-percent").textContent = b.percent + "%";
  $("bootstrap-step").textContent = b.step;
  $("bootstrap-event").textContent = b.last_event;
  $("bootstrap-waiting").textContent =
      b.waiting_for ? "waiting " + duration(b.seconds_waiting) + " for " + b.waiting_for : "";
  const counters = [
    ["circuits open", n.client_circuits + " client, " + n.relay_circuits + " relayed"],
    ["circuits built / failed", n.circuits_built + " / " + n.circuits_failed],
    ["streams open", n.streams],
    ["streams opened / failed", n.streams_opened + " / " + n.streams_failed],
    ["cells relayed", n.cells_relayed],
    ["link bytes in / out", bytes(n.link_bytes_in) + " / " + bytes(n.link_bytes_out)],
    ["relays known", n.relays_known],
    ["guards", n.guards],
    ["handshakes", n.hybrid ? "hybrid (X25519 + ML-KEM-768)" : "classical"],
  ];
  const dl = $("counters");
  dl.replaceChildren();
  for (const [k, v] of counters) dl.append(el("dt", {}, k), el("dd", {}, String(v)));
}

function renderCircuits(s) {
  $("circuits-count").textContent = s.circuits_total + " open";
  fillTable($("circuits"), s.circuits.map((c) => {
    const hops = el("span", {class: "hops", "data-hops": c.hops.length});
    c.hops.forEach((h, i) => {
      if (i > 0) hops.append(el("span", {class: "arrow"}, "\u2192"));
      const chip = el("span", {class: "chip hop"}, h.id);
      if (h.rtt_ms !== null) chip.append(el("span", {class: "rtt"}, h.rtt_ms.toFixed(1) + " ms"));
      hops.append(chip);
    });
    return cells([String(c.id), c.state, hops, duration(c.age_seconds), String(c.streams)]);
  }));
}

function renderStreams(s) {
  $("streams-count").textContent = s.streams_total + " open";
  fillTable($("streams"), s.streams.map((t) => cells(
      [String(t.circuit), String(t.id), t.state, bytes(t.bytes_in), bytes(t.bytes_out)])));
}

function renderLinks(s) {
  $("links-count").textContent = s.peers_total + " sessions";
  const t = $("transports");
  t.replaceChildren();
  for (const [name, count] of Object.entries(s.transports))
    t.append(el("span", {class: "chip transport", "data-transport": name}, name + ": " + count));
  if (!Object.keys(s.transports).length) t.textContent = "no link sessions";
  $("listeners").textContent = s.listeners.length
      ? "listening: " + s.listeners.map((l) => l.kind + " " + l.address).join(", ") : "";
  fillTable($("peers"), s.peers.map((p) => cells([
    p.transport, p.key || "-", p.direction, p.post_quantum ? "yes" : "no",
    duration(p.age_seconds), duration(p.idle_seconds)])));
}

function renderThroughput() {
  const svg = $("throughput");
  svg.replaceChildren();
  const W = 900, H = 200, L = 60, B = 18;
  const last = samples[samples.length - 1];
  $("rate-in").textContent = last ? bytes(last[2]) + "/s" : "-";
  $("rate-out").textContent = last ? bytes(last[3]) + "/s" : "-";
  $("rate-cells").textContent = last ? Math.round(last[4]) + "/s" : "-";
  $("throughput-window").textContent = "last " + Math.round(historySeconds / 60) + " minutes";
  const now = last ? last[1] : Date.now();
  const span = historySeconds * 1000;
  let max = 1;
  for (const s of samples) max = Math.max(max, s[2], s[3]);
  // A round top: 1, 2 or 5 times a power of ten.
  const p = Math.pow(10, Math.floor(Math.log10(max)));
  const top = [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max);
  for (let i = 0; i <= 4; i++) {
    const y = (H - B) * i / 4;
    svg.append(el("svg:line", {class: "grid", x1: L, x2: W, y1: y + 0.5, y2: y + 0.5}));
    svg.append(el("svg:text", {x: 2, y: Math.max(y, 10)}, bytes(top * (4 - i) / 4) + "/s"));
  }
  for (let m = 0; m <= historySeconds / 60; m += 2) {
    const x = W - (W - L) * m * 60 / historySeconds;
    svg.append(el("svg:text", {x: Math.max(x - 20, L), y: H - 4}, m ? "-" + m + "m" : "now"));
  }
  const x = (t) => W - (W - L) * (now - t) / span;
  const y = (v, m) => (H - B) * (1 - Math.min(v / m, 1));
  const line = (idx, cls, m) => {
    if (!samples.length) return;
    const pts = samples.map((s) => x(s[1]).toFixed(1) + "," + y(s[idx], m).toFixed(1));
    if (pts.length === 1) pts.push(W + "," + y(samples[0][idx], m).toFixed(1));
    svg.append(el("svg:polyline", {class: cls, points: pts.join(" ")}));
  };
  let maxCells = 1;
  for (const s of samples) maxCells = Math.max(maxCells, s[4]);
  line(4, "cells", maxCells * 1.1);
  line(2, "in", top);
  line(3, "out", top);
}

function renderTopology(t) {
  const svg = $("topology");
  svg.replaceChildren();
  $("topology-count").textContent = t.relays.length < t.relays_total
      ? t.relays.length + " of " + t.relays_total + " relays" : t.relays_total + " relays";
  const W = 900, H = 520, cx = W / 2, cy = H / 2;
  // Relays on a ring, grouped by subnet (and family), "you" in the middle.
  const relays = t.relays.slice().sort((a, b) =>
      a.subnet.localeCompare(b.subnet) || String(a.family_group).localeCompare(String(b.family_group)));
  const pos = new Map();
  const r = Math.min(W, H) / 2 - 50;
  relays.forEach((n, i) => {
    const a = 2 * Math.PI * i / Math.max(relays.length, 1) - Math.PI / 2;
    pos.set(n.id, [cx + r * 1.5 * Math.cos(a), cy + r * Math.sin(a), a]);
  });
  const hue = (i) => "hsl(" + ((i * 137) % 360) + ",75%,60%)";
  t.circuits.forEach((c, i) => {
    const pts = [[cx, cy]];
    for (const id of c.path) if (pos.has(id)) pts.push(pos.get(id));
    if (pts.length < 2) return;
    let d = "M" + pts[0][0] + "," + pts[0][1];
    for (let k = 1; k < pts.length; k++) {
      // Bend each hop towards the centre so paths sharing relays stay apart.
      const [x0, y0] = pts[k - 1], [x1, y1] = pts[k];
      const mx = (x0 + x1) / 2 + (cx - (x0 + x1) / 2) * 0.25 * ((i % 3) + 1) / 3;
      const my = (y0 + y1) / 2 + (cy - (y0 + y1) / 2) * 0.25 * ((i % 3) + 1) / 3;
      d += " Q" + mx.toFixed(1) + "," + my.toFixed(1) + " " + x1.toFixed(1) + "," + y1.toFixed(1);
    }
    svg.append(el("svg:path", {class: "edge " + c.state, d, stroke: hue(i),
                               "data-circuit": c.id}));
  });
  for (const n of relays) {
    const [x, y, a] = pos.get(n.id);
    const colour = n.down ? "#555555" : n.exit ? "#ffb347" : n.guard ? "#4cd97b" : "#4fb3ff";
    const size = 6 + Math.min(8, Math.log10(1 + n.bandwidth) * 1.2);
    const g = el("svg:g", {class: "relay", "data-relay": n.id});
    g.append(el("svg:title", {}, n.id + " " + n.subnet +
        (n.latency_ms !== null ? " " + n.latency_ms.toFixed(1) + " ms" : "")));
    g.append(el("svg:circle", {class: "node", cx: x, cy: y, r: size, fill: colour}));
    if (relays.length <= 60) {
      const right = Math.cos(a) >= 0;
      g.append(el("svg:text", {class: "label", x: x + (right ? 1 : -1) * (size + 4), y: y + 4,
                               "text-anchor": right ? "start" : "end"},
                  n.id + (n.latency_ms !== null ? " " + n.latency_ms.toFixed(0) + "ms" : "")));
    }
    svg.append(g);
  }
  svg.append(el("svg:circle", {class: "node", cx, cy, r: 10, fill: "#fff"}));
  svg.append(el("svg:text", {class: "label", x: cx, y: cy + 26, "text-anchor": "middle"}, "you"));
}

async function getJson(path) {
  const r = await fetch(path, {credentials: "same-origin", cache: "no-store"});
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

async function poll() {
  try {
    const s = await getJson("/api/state?since=" + lastSeq);
    historySeconds = s.history_seconds;
    for (const x of s.samples) if (x[0] > lastSeq) samples.push(x);
    if (samples.length) lastSeq = samples[samples.length - 1][0];
    if (samples.length > historySeconds) samples.splice(0, samples.length - historySeconds);
    renderNode(s);
    renderCircuits(s);
    renderStreams(s);
    renderLinks(s);
    renderThroughput();
    if (Date.now() - lastTopology >= TOPOLOGY_MS) {
      renderTopology(await getJson("/api/topology"));
      lastTopology = Date.now();
    }
    $("live").textContent = "live";
    $("live").classList.remove("stale");
    document.body.dataset.loaded = "1";
  } catch (e) {
    $("live").textContent = "no answer";
    $("live").classList.add("stale");
  }
}

async function loop() {
  // A hidden tab costs the node nothing: it polls again when shown.
  if (!document.hidden) await poll();
  setTimeout(loop, POLL_MS);
}
document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
loop();

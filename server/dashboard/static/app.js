// The arena dashboard: the room list from /dashboard/api/stream, and a live
// view of one room from /dashboard/api/view/<id>, both server-sent events.
// No build step: plain browser JavaScript.
"use strict";

const $ = (s) => document.querySelector(s);
let selected = new URLSearchParams(location.hash.slice(1)).get("room") || "";
let viewSource = null;
let arena = null;
let lastView = null;

function fmtBytes(n) {
  if (n >= 1e6) return (n / 1e6).toFixed(1) + " MB/s";
  if (n >= 1e3) return (n / 1e3).toFixed(1) + " kB/s";
  return Math.round(n) + " B/s";
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function renderOverview(o) {
  const s = o.server;
  $("#status").textContent = s.draining ? "draining" : "serving";
  $("#status").className = "pill " + (s.draining ? "bad" : "ok");
  $("#summary").textContent = `${s.rooms} rooms · ${s.players} players · ${s.spectators} spectators · ` +
    `${s.connections} connections · ${s.tick_rate} Hz ticks, budget ${s.budget_ms.toFixed(1)} ms · ` +
    `${s.snapshot_rate} snapshots/s · up ${Math.round(s.uptime_s)} s`;
  const banner = $("#drain");
  banner.hidden = !s.draining;
  if (s.draining) banner.textContent = `Draining: no new players; connections close in ${Math.ceil(s.seconds_left)} s.`;

  const body = $("#rooms tbody");
  body.replaceChildren();
  for (const r of o.rooms) {
    const p50 = Math.min(100, 100 * r.p50_ms / r.budget_ms);
    const p99 = Math.min(100, 100 * r.p99_ms / r.budget_ms);
    const bar = el("div", { class: "bar" + (r.p99_ms > r.budget_ms ? " over" : "") },
      el("div", { class: "p99", style: `width:${p99}%` }), el("div", { class: "p50", style: `width:${p50}%` }));
    const row = el("tr", { "data-room-id": r.id, "data-players": String(r.player_count) },
      el("td", {}, r.id),
      el("td", { class: "players" }, el("b", { class: "count" }, `${r.player_count}/${r.capacity}`),
        r.spectators ? ` +${r.spectators} watching` : "", el("div", { class: "names" }, r.players.join(", "))),
      el("td", {}, String(r.tick)),
      el("td", {}, bar, el("div", { class: "bartext" },
        `${r.p50_ms.toFixed(2)} / ${r.p99_ms.toFixed(2)} ms of ${r.budget_ms.toFixed(1)} ms` +
        (r.overloaded_s > 0 ? ` · overloaded ${Math.round(r.overloaded_s)} s` : ""))),
      el("td", {}, `${r.overruns}` + (r.skipped ? ` (${r.skipped} skipped)` : "")),
      el("td", {}, r.snapshot_rate.toFixed(1)),
      el("td", {}, fmtBytes(r.bytes_per_player_s)));
    if (r.id === selected) row.classList.add("selected");
    row.addEventListener("click", () => watch(r.id));
    body.append(row);
  }
  $("#norooms").hidden = o.rooms.length > 0;
  if (!o.rooms.some((r) => r.id === selected)) {
    const busy = o.rooms.find((r) => r.player_count > 0);
    if (busy) watch(busy.id); // follow a match by default
  }
}

function watch(id) {
  if (id === selected && viewSource) return;
  selected = id;
  history.replaceState(null, "", "#room=" + encodeURIComponent(id));
  for (const tr of document.querySelectorAll("#rooms tbody tr")) {
    tr.classList.toggle("selected", tr.dataset.roomId === id);
  }
  if (viewSource) viewSource.close();
  arena = null;
  lastView = null;
  $("#match-title").textContent = id;
  viewSource = new EventSource("/dashboard/api/view/" + encodeURIComponent(id));
  viewSource.addEventListener("arena", (e) => { arena = JSON.parse(e.data); draw(); });
  viewSource.addEventListener("view", (e) => { lastView = JSON.parse(e.data); draw(); });
  viewSource.addEventListener("closed", () => {
    viewSource.close();
    viewSource = null;
    $("#match-title").textContent = id + " (closed)";
  });
}

const colors = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

function draw() {
  const c = $("#match");
  const g = c.getContext("2d");
  g.fillStyle = "#0d0f13";
  g.fillRect(0, 0, c.width, c.height);
  if (!arena) return;
  const k = Math.min(c.width / arena.width, c.height / arena.height);
  g.save();
  g.scale(k, k);
  g.fillStyle = "#3a404c";
  for (const [x, y, w, h] of arena.walls) g.fillRect(x, y, w, h);
  if (lastView) {
    g.fillStyle = "#ffd166";
    for (const p of lastView.projectiles) {
      g.beginPath();
      g.arc(p.x, p.y, 3 * arena.scale, 0, 2 * Math.PI);
      g.fill();
    }
    const half = arena.player_half;
    for (const p of lastView.players) {
      const alive = p.health > 0;
      g.globalAlpha = alive ? 1 : 0.3;
      g.fillStyle = colors[p.id % colors.length];
      g.fillRect(p.x - half, p.y - half, 2 * half, 2 * half);
      const a = (p.aim / 1024) * 2 * Math.PI;
      g.strokeStyle = "#ffffff";
      g.lineWidth = 2 * arena.scale;
      g.beginPath();
      g.moveTo(p.x, p.y);
      g.lineTo(p.x + Math.cos(a) * 2 * half, p.y + Math.sin(a) * 2 * half);
      g.stroke();
      g.fillStyle = "#3fb950";
      g.fillRect(p.x - half, p.y - half - 6 * arena.scale, (2 * half * p.health) / arena.max_health, 3 * arena.scale);
      g.globalAlpha = 1;
      g.fillStyle = "#e6e6e6";
      g.font = `${12 * arena.scale}px system-ui, sans-serif`;
      const below = p.y + half + 14 * arena.scale;
      const labelY = below < arena.height - 2 * arena.scale ? below : p.y - half - 9 * arena.scale; // near the bottom: above
      g.fillText(p.name || "#" + p.id, Math.max(p.x - half, 0), labelY);
    }
  }
  g.restore();
  if (lastView) {
    c.dataset.tick = String(lastView.tick);
    g.fillStyle = "#8a8f98";
    g.font = "12px system-ui, sans-serif";
    g.fillText(`tick ${lastView.tick} · ${lastView.players.length} players · ${lastView.projectiles.length} projectiles`, 8, c.height - 8);
    $("#scores").textContent = lastView.players
      .map((p) => `${p.name || "#" + p.id}: ${p.kills} kills, ${p.deaths} deaths`).join(" · ");
  }
}

const list = new EventSource("/dashboard/api/stream");
list.addEventListener("rooms", (e) => renderOverview(JSON.parse(e.data)));
list.addEventListener("error", () => {
  $("#status").textContent = "disconnected";
  $("#status").className = "pill bad";
});
if (selected) watch(selected);

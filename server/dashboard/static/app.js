// The arena dashboard: the room list from /dashboard/api/stream, and a live
// view of one room from /dashboard/api/view/<id>, both server-sent events.
// No build step: plain browser JavaScript.
"use strict";

const $ = (s) => document.querySelector(s);
let selected = new URLSearchParams(location.hash.slice(1)).get("room") || "";
let viewSource = null;
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
      el("td", {}, r.id, el("div", { class: "game" }, r.game, " · ",
        el("a", { class: "play", href: "/play?room=" + encodeURIComponent(r.id), target: "_blank", rel: "noopener" }, "play in a tab"))),
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
  lastView = null;
  $("#match-title").textContent = id;
  viewSource = new EventSource("/dashboard/api/view/" + encodeURIComponent(id));
  viewSource.addEventListener("view", (e) => { lastView = JSON.parse(e.data); draw(); });
  viewSource.addEventListener("closed", () => {
    viewSource.close();
    viewSource = null;
    $("#match-title").textContent = id + " (closed)";
  });
}

const colors = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

// draw paints the game's sketch of the room: shapes in the game's own
// units, scaled to the canvas. A shape with a player takes the player's
// colour (unless it names its own) and a label with the player's name.
function draw() {
  const c = $("#match");
  const g = c.getContext("2d");
  g.fillStyle = "#0d0f13";
  g.fillRect(0, 0, c.width, c.height);
  if (!lastView) return;
  const sk = lastView.sketch;
  const names = lastView.names || {};
  if (sk && sk.w > 0 && sk.h > 0) {
    const k = Math.min(c.width / sk.w, c.height / sk.h);
    g.save();
    g.scale(k, k);
    for (const s of sk.shapes || []) {
      const color = s.color || (s.player ? colors[s.player % colors.length] : "#e6e6e6");
      g.fillStyle = color;
      g.strokeStyle = color;
      g.lineWidth = 1 / k;
      switch (s.kind) {
        case "rect":
          if (s.fill) g.fillRect(s.x, s.y, s.w || 0, s.h || 0);
          else g.strokeRect(s.x, s.y, s.w || 0, s.h || 0);
          break;
        case "circle":
          g.beginPath();
          g.arc(s.x, s.y, s.r || 1, 0, 2 * Math.PI);
          if (s.fill) g.fill(); else g.stroke();
          break;
        case "line":
          g.beginPath();
          g.moveTo(s.x, s.y);
          g.lineTo(s.x2 || 0, s.y2 || 0);
          g.stroke();
          break;
        case "text":
          g.font = `${12 / k}px system-ui, sans-serif`;
          g.fillText(s.text || "", s.x, s.y);
          break;
      }
      if (s.player && s.kind !== "text") {
        g.fillStyle = "#e6e6e6";
        g.font = `${12 / k}px system-ui, sans-serif`;
        g.fillText(names[s.player] || "#" + s.player, s.x - (s.r || 0), s.y + (s.r || s.h || 0) + 14 / k);
      }
    }
    g.restore();
  }
  c.dataset.tick = String(lastView.tick);
  const players = Object.keys(names).length;
  g.fillStyle = "#8a8f98";
  g.font = "12px system-ui, sans-serif";
  g.fillText(`${lastView.game} · tick ${lastView.tick} · ${players} players`, 8, c.height - 8);
  $("#scores").textContent = Object.entries(names).map(([id, n]) => `${n} (#${id})`).join(" · ");
}

const list = new EventSource("/dashboard/api/stream");
list.addEventListener("rooms", (e) => renderOverview(JSON.parse(e.data)));
list.addEventListener("error", () => {
  $("#status").textContent = "disconnected";
  $("#status").className = "pill bad";
});
if (selected) watch(selected);

// Colyseus SDK bots for the arena peer: each joins (or creates) a room of
// 16, sends one input per tick at 60 Hz through the netcode input channel
// (room.input()), and counts state patches, bytes and input→ack latency
// (from when an input was sent to the patch whose ack covers it). Prints
// "measuring" on stderr when every bot is in, and writes the bots' JSON
// report (the fields the Go bots write) at the end.
//
//   node bots.mjs --url ws://127.0.0.1:2567 --n 160 --duration 20 --json report.json
import { writeFileSync } from "node:fs";
import { Client } from "@colyseus/sdk";

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const url = arg("--url", "ws://127.0.0.1:2567");
const n = Number(arg("--n", "16"));
const duration = Number(arg("--duration", "20"));
const jsonPath = arg("--json", "");
const connectRate = Number(arg("--connect-rate", "200"));

const stats = { patches: 0, bytesIn: 0, bytesOut: 0, lat: [] };
let measuring = false;
let errors = 0;
const bots = [];

function latency(ms) {
  if (measuring) stats.lat.push(ms);
}

async function startBot(id) {
  const client = new Client(url);
  const room = await client.joinOrCreate("arena");
  const input = room.input();
  const ws = room.connection.transport.ws;
  const size = (d) => d?.byteLength ?? d?.length ?? d?.size ?? 0;
  if (ws.addEventListener) ws.addEventListener("message", (ev) => { if (measuring) stats.bytesIn += size(ev.data); });
  else ws.on("message", (d) => { if (measuring) stats.bytesIn += size(d); });
  const send = ws.send.bind(ws);
  ws.send = (data, ...rest) => { if (measuring) stats.bytesOut += size(data); return send(data, ...rest); };
  const sentAt = new Map(); // seq -> ms
  let acked = 0;
  room.onStateChange(() => {
    if (measuring) stats.patches++;
    const done = input.lastProcessed;
    const now = performance.now();
    for (let s = acked + 1; s <= done; s++) {
      const t = sentAt.get(s);
      if (t !== undefined) { latency(now - t); sentAt.delete(s); }
    }
    acked = Math.max(acked, done);
  });
  room.onError(() => errors++);
  let tick = 0, dir = 0;
  const dirs = [8, 2, 4 | 1, 0, 1, 4, 2 | 8, 4 | 2];
  // A drift-free 60 Hz loop (tick k at start + k/60 s), as the Go bots
  // keep: setInterval(1000/60) runs at 62.5 Hz and would pile inputs up in
  // the room's buffer.
  const start = performance.now();
  const bot = { room, timer: null, stopped: false };
  const loop = () => {
    if (bot.stopped) return;
    step();
    bot.timer = setTimeout(loop, Math.max(0, start + (tick + 1) * (1000 / 60) - performance.now()));
  };
  const step = () => {
    tick++;
    if (tick % 30 === 0) dir = (dir + 1 + id) % dirs.length;
    input.data.buttons = dirs[dir] | (tick % 30 === 7 ? 16 : 0);
    input.data.aim = (tick * 7 + id * 100) % 1024;
    const seq = input.send();
    if (seq) sentAt.set(seq, performance.now());
  };
  bot.timer = setTimeout(loop, 1000 / 60);
  bots.push(bot);
}

const pace = 1000 / connectRate;
const started = [];
for (let i = 0; i < n; i++) {
  started.push(startBot(i).catch((e) => { errors++; console.error("bot:", e.message); }));
  await new Promise((r) => setTimeout(r, pace));
}
await Promise.all(started);
await new Promise((r) => setTimeout(r, 1000));
console.error(`bots: measuring, ${bots.length} connected`);
measuring = true;
const t0 = performance.now();
await new Promise((r) => setTimeout(r, duration * 1000));
measuring = false;
const secs = (performance.now() - t0) / 1000;
for (const b of bots) { b.stopped = true; clearTimeout(b.timer); }
const k = Math.max(1, bots.length);
const lat = stats.lat.sort((a, b) => a - b);
const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : 0);
const report = {
  game: "arena (colyseus)", bots: n, connected: bots.length, errors, duration_s: secs,
  snapshots_per_bot_s: stats.patches / secs / k, bytes_down_per_bot_s: stats.bytesIn / secs / k,
  bytes_up_per_bot_s: stats.bytesOut / secs / k,
  input_ack_ms: { p50: q(0.5), p99: q(0.99), max: lat.length ? lat[lat.length - 1] : 0 },
  transport: { ws: bots.length, poll: 0 },
};
console.log(JSON.stringify(report, null, 2));
if (jsonPath) writeFileSync(jsonPath, JSON.stringify(report, null, 2) + "\n");
for (const b of bots) b.room.leave().catch(() => {});
setTimeout(() => process.exit(0), 500);

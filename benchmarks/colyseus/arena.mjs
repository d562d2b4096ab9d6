// The arena's rules for the Colyseus peer, as a Colyseus user would port
// them: the same map, speeds, cooldowns, damage and respawn as the Go
// server's games/arena/sim (positions in 1/8 world units, 60 ticks a
// second), shared by the room and nothing else.

export const SCALE = 8;
const u = (v) => v * SCALE;
export const TICK_RATE = 60;
export const WIDTH = u(1280), HEIGHT = u(720);
export const WALLS = [
  [u(600), u(280), u(80), u(160)], [u(440), u(340), u(120), u(40)], [u(720), u(340), u(120), u(40)],
  [u(240), u(140), u(40), u(120)], [u(1000), u(140), u(40), u(120)], [u(240), u(460), u(40), u(120)],
  [u(1000), u(460), u(40), u(120)], [u(560), u(80), u(160), u(32)], [u(560), u(608), u(160), u(32)],
];
export const SPAWNS = [
  [u(80), u(80)], [u(640), u(40)], [u(1200), u(80)], [u(1220), u(360)],
  [u(1200), u(640)], [u(640), u(680)], [u(80), u(640)], [u(60), u(360)],
];
const perTick = (ups) => Math.floor((ups * SCALE + TICK_RATE / 2) / TICK_RATE);
const ticks = (ms) => Math.max(1, Math.floor((ms * TICK_RATE + 500) / 1000));
export const RULES = {
  half: 12 * SCALE,
  speed: perTick(200),
  diagonal: (perTick(200) * 181 + 128) >> 8,
  shotSpeed: perTick(600),
  shotRadius: 3 * SCALE,
  shotLife: ticks(1500),
  fireInterval: ticks(250),
  respawn: ticks(2000),
  maxHealth: 100,
  damage: 25,
};
export const UP = 1, DOWN = 2, LEFT = 4, RIGHT = 8, FIRE = 16;
export const AIM_STEPS = 1024;

const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
const overlaps = (x, y, h, [rx, ry, rw, rh]) => x + h > rx && x - h < rx + rw && y + h > ry && y - h < ry + rh;

// move applies one input's movement and aim to p (fields x, y, aim).
export function move(p, buttons, aim) {
  p.aim = aim % AIM_STEPS;
  let dx = 0, dy = 0;
  if (buttons & LEFT) dx--;
  if (buttons & RIGHT) dx++;
  if (buttons & UP) dy--;
  if (buttons & DOWN) dy++;
  const speed = dx !== 0 && dy !== 0 ? RULES.diagonal : RULES.speed;
  const h = RULES.half;
  if (dx !== 0) {
    let x = clamp(p.x + dx * speed, h, WIDTH - h);
    for (const r of WALLS) if (overlaps(x, p.y, h, r)) x = dx > 0 ? r[0] - h : r[0] + r[2] + h;
    p.x = x;
  }
  if (dy !== 0) {
    let y = clamp(p.y + dy * speed, h, HEIGHT - h);
    for (const r of WALLS) if (overlaps(p.x, y, h, r)) y = dy > 0 ? r[1] - h : r[1] + r[3] + h;
    p.y = y;
  }
}

// shotVelocity is a shot's per-tick velocity for an aim.
export function shotVelocity(aim) {
  const a = (aim / AIM_STEPS) * 2 * Math.PI;
  return [Math.round(Math.cos(a) * RULES.shotSpeed), Math.round(Math.sin(a) * RULES.shotSpeed)];
}

export function inWall(x, y) {
  for (const r of WALLS) if (overlaps(x, y, 0, r)) return true;
  return x < 0 || y < 0 || x > WIDTH || y > HEIGHT;
}

// Drives Debian's chromium (CHROMIUM) for server/e2e/play_test.go: it reads
// one JSON command per line on stdin and answers each with one JSON line on
// stdout, so the Go test can act on the server between two commands (restart
// it mid-match). Commands:
//
//   {"op":"open","url":U}                 open U (the /play page)
//   {"op":"wait","expr":E,"timeout":MS}   wait until (s) => E holds for
//                                         window.arenaStats s
//   {"op":"reload"}                       reload the page
//   {"op":"freeze","ms":MS}               freeze the page MS (a background tab)
//   {"op":"stats"}                        window.arenaStats now
//   {"op":"resetFrames"}                  start the frame figures anew
//   {"op":"keys","key":K,"ms":MS}         hold key K (KeyboardEvent.code) MS
//   {"op":"shot","path":P}                screenshot into P (PNG)
//   {"op":"quit"}
//
// Every answer is {ok, stats, error, errors (page errors so far)}.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const readline = require("readline");
const { chromium } = require("playwright-core");

const { CHROMIUM } = process.env;

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "arena-play-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-quic",
      "--disable-component-update", "--disable-sync", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
      "--disable-background-timer-throttling", "--disable-renderer-backgrounding"],
  });
  const page = ctx.pages()[0] || (await ctx.newPage());
  const errors = [];
  const console_ = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (console_.length < 200) console_.push(m.text()); });
  const stats = () => page.evaluate(() => (window.arenaStats ? { ...window.arenaStats } : null)).catch(() => null);

  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line);
    const out = { ok: true };
    try {
      switch (cmd.op) {
        case "open":
          out.status = (await page.goto(cmd.url, { waitUntil: "load", timeout: 30000 })).status();
          break;
        case "wait":
          await page.waitForFunction(`(() => { const s = window.arenaStats; return !!s && (${cmd.expr}); })()`,
            null, { timeout: cmd.timeout || 15000, polling: 100 });
          break;
        case "reload":
          await page.reload({ waitUntil: "load", timeout: 30000 });
          break;
        case "freeze": {
          // What a browser does to a background tab, at its harshest: the
          // page runs no script at all (no frames, no timers, no events)
          // for ms, then goes on.
          const cdp = await page.context().newCDPSession(page);
          await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
          await new Promise((r) => setTimeout(r, cmd.ms));
          await cdp.send("Page.setWebLifecycleState", { state: "active" });
          await cdp.detach();
          break;
        }
        case "resetFrames":
          await page.evaluate(() => { if (window.arenaStats) window.arenaStats.reset = true; });
          break;
        case "stats":
          break;
        case "keys":
          await page.keyboard.down(cmd.key);
          await page.waitForTimeout(cmd.ms);
          await page.keyboard.up(cmd.key);
          break;
        case "shot":
          await page.screenshot({ path: cmd.path });
          break;
        case "console":
          out.console = console_.slice();
          break;
        case "quit":
          await ctx.close();
          process.stdout.write(JSON.stringify(out) + "\n");
          return;
        default:
          throw new Error("unknown op " + cmd.op);
      }
    } catch (e) {
      out.ok = false;
      out.error = String(e);
      out.console = console_.slice(-30);
    }
    out.stats = await stats();
    out.errors = errors.slice();
    process.stdout.write(JSON.stringify(out) + "\n");
  }
  await ctx.close();
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + "\n");
  process.exit(1);
});

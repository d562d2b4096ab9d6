// Drives Debian's chromium (CHROMIUM) through the admin dashboard at BASE
// and prints what it saw as one JSON line on stdout. Run by
// server/e2e/dashboard_test.go; screenshots go to OUT.
//
// env: CHROMIUM (browser binary), BASE (http://host:port), TOKEN (admin
// token), OUT (screenshot folder), EXPECT_ROOMS, EXPECT_PLAYERS.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const { CHROMIUM, BASE, TOKEN, OUT } = process.env;
const expectRooms = Number(process.env.EXPECT_ROOMS);
const expectPlayers = Number(process.env.EXPECT_PLAYERS);

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "arena-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 1000 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const out = { errors: [] };
  try {
    const page = ctx.pages()[0] || (await ctx.newPage());
    page.on("pageerror", (e) => out.errors.push(String(e)));

    out.missing = (await page.goto(BASE + "/dashboard/")).status();
    out.wrong = (await page.goto(BASE + "/dashboard/?token=wrong-" + TOKEN)).status();
    const ok = await page.goto(BASE + "/dashboard?token=" + encodeURIComponent(TOKEN));
    out.ok = ok.status();
    out.url = page.url();

    // The room list, once it shows the expected rooms and players.
    await page.waitForFunction(([rooms, players]) => {
      const rows = [...document.querySelectorAll("#rooms tbody tr[data-room-id]")];
      return rows.length === rooms && rows.every((r) => Number(r.dataset.players) === players);
    }, [expectRooms, expectPlayers], { timeout: 15000 }).catch((e) => out.errors.push("room list: " + e.message));
    out.rooms = await page.$$eval("#rooms tbody tr[data-room-id]", (rows) => rows.map((r) => ({
      id: r.dataset.roomId, players: Number(r.dataset.players), names: r.querySelector(".names").textContent,
    })));
    out.summary = await page.textContent("#summary");

    // The match view: two screenshots of the canvas a second apart.
    await page.waitForFunction(() => Number(document.querySelector("#match").dataset.tick) > 0, null, { timeout: 15000 })
      .catch((e) => out.errors.push("match view: " + e.message));
    const canvas = page.locator("#match");
    out.tick1 = Number(await canvas.getAttribute("data-tick"));
    const shot1 = await canvas.screenshot({ path: path.join(OUT, "match-1.png") });
    await page.waitForTimeout(1000);
    out.tick2 = Number(await canvas.getAttribute("data-tick"));
    const shot2 = await canvas.screenshot({ path: path.join(OUT, "match-2.png") });
    out.screenshotsDiffer = !shot1.equals(shot2);
    out.watching = await page.textContent("#match-title");
    await page.screenshot({ path: path.join(OUT, "dashboard.png"), fullPage: true });
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

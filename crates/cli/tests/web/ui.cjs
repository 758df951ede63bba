// Drives swarmlab's web UI in a real browser (Debian's chromium via playwright-core), as a
// Locust user would: fill the form, Start, watch Statistics, open Charts, Edit users, Stop,
// reload, download the requests CSV. Saves screenshots of Statistics and Charts.
//
// usage: node ui.cjs UI_URL TARGET_URL OUT_DIR
// env:   PLAYWRIGHT_CORE (path of the playwright-core package), CHROMIUM (the browser)
"use strict";
const fs = require("fs");
const path = require("path");
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

const [ui, target, out] = process.argv.slice(2);
const STATS_HEADER =
  "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";

function step(what) {
  console.log(`ui: ${what}`);
}

async function aggregatedCount(page) {
  const text = await page.textContent("#stats-table tbody tr.total td:nth-child(3)").catch(() => "0");
  return Number(text || 0);
}

async function chartPoints(page) {
  return page.evaluate(() =>
    ["rps", "rt", "users"].map((k) => (charts[k] && charts[k].data ? charts[k].data[0].length : 0))
  );
}

(async () => {
  fs.mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  const external = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(ui)) external.push(r.url());
  });
  try {
    step("open the page: the start form shows");
    await page.goto(ui);
    await page.waitForSelector("#start-form", { state: "visible" });
    await page.fill("#f-users", "20");
    await page.fill("#f-rate", "20");
    await page.fill("#f-host", target);
    step("Start");
    await page.click("#f-submit");
    await page.waitForSelector("#form-backdrop", { state: "hidden" });
    step("the Aggregated row's request count grows");
    await page.waitForFunction(() => {
      const c = document.querySelector("#stats-table tbody tr.total td:nth-child(3)");
      return c && Number(c.textContent) > 0;
    }, null, { timeout: 20000 });
    const first = await aggregatedCount(page);
    await page.waitForFunction((n) => {
      const c = document.querySelector("#stats-table tbody tr.total td:nth-child(3)");
      return c && Number(c.textContent) > n;
    }, first, { timeout: 20000 });
    await page.screenshot({ path: path.join(out, "statistics.png") });

    step("Charts: three charts with points");
    await page.click('.tabs button[data-tab="charts"]');
    await page.waitForFunction(() => ["rps", "rt", "users"].every((k) => charts[k].data[0].length >= 3), null, { timeout: 20000 });
    const uplots = await page.locator("#tab-charts .uplot").count();
    if (uplots !== 3) throw new Error(`${uplots} charts drawn, not 3`);

    step("Edit users from 20 to 50: the header reaches 50");
    await page.click("#b-edit");
    await page.waitForSelector("#start-form", { state: "visible" });
    await page.fill("#f-users", "50");
    await page.fill("#f-rate", "50");
    await page.click("#f-submit");
    await page.waitForFunction(() => document.querySelector("#h-users").textContent === "50", null, { timeout: 20000 });
    await page.waitForTimeout(2500); // the users line climbs on the chart
    await page.screenshot({ path: path.join(out, "charts.png") });

    step("Stop");
    await page.click("#b-stop");
    await page.waitForFunction(() => document.querySelector("#h-state").textContent === "stopped", null, { timeout: 20000 });

    step("reload: the charts are still drawn");
    await page.reload();
    await page.click('.tabs button[data-tab="charts"]');
    await page.waitForFunction(() => ["rps", "rt", "users"].every((k) => charts[k].data[0].length >= 3), null, { timeout: 20000 });
    const points = await chartPoints(page);
    const maxUsers = await page.evaluate(() => Math.max(...charts.users.data[1].filter((v) => v !== null)));
    if (maxUsers < 50) throw new Error(`the users chart peaks at ${maxUsers}, not 50`);
    step(`charts after reload: ${points.join(", ")} points`);

    step("download the requests CSV");
    await page.click('.tabs button[data-tab="download"]');
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#dl-requests")]);
    const file = path.join(out, "requests.csv");
    await download.saveAs(file);
    const header = fs.readFileSync(file, "utf8").split("\n")[0];
    if (header !== STATS_HEADER) throw new Error(`requests CSV header: ${header}`);
    if (!download.suggestedFilename().startsWith("Locust_")) throw new Error(`file name ${download.suggestedFilename()}`);
    if (external.length) throw new Error(`loaded from elsewhere: ${external.join(", ")}`);
    step("ok");
    await browser.close();
  } catch (e) {
    await page.screenshot({ path: path.join(out, "failure.png") }).catch(() => {});
    console.error(`ui: FAILED: ${e.message}`);
    await browser.close();
    process.exit(1);
  }
})();

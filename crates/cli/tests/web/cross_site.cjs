// A page of another origin (a server of its own on another port) posts the start form to
// swarmlab's web UI, as a page a user visits could (issue 27): a plain form submission and a
// no-cors fetch. The UI must not start: its state stays "ready".
//
// usage: node cross_site.cjs UI_URL TARGET_URL
// env:   PLAYWRIGHT_CORE (path of the playwright-core package), CHROMIUM (the browser)
"use strict";
const http = require("http");
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

const [ui, target] = process.argv.slice(2);

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

const page = `<!doctype html><html><body>
<form id="f" method="POST" action="${ui}/swarm">
<input name="user_count" value="3"><input name="spawn_rate" value="3"><input name="host" value="${target}">
</form>
<script>
fetch("${ui}/swarm", { method: "POST", mode: "no-cors",
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
  body: "user_count=3&spawn_rate=3&host=" + encodeURIComponent("${target}") }).catch(() => {});
setTimeout(() => document.getElementById("f").submit(), 300);
</script></body></html>`;

(async () => {
  const other = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(page);
  });
  await new Promise((r) => other.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${other.address().port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  let status = 0;
  try {
    const tab = await browser.newPage();
    const answers = [];
    tab.on("response", (r) => {
      if (r.url().startsWith(ui)) answers.push(r.status());
    });
    await tab.goto(origin + "/");
    await tab.waitForTimeout(2000);
    const stats = JSON.parse(await get(ui + "/stats/requests"));
    console.log(`cross-site: the UI answered the other page's form with ${JSON.stringify(answers)}; its state is ${stats.state}`);
    if (stats.state !== "ready") {
      console.log("cross-site: FAILED: a page of another origin started a load");
      status = 1;
    } else if (!answers.includes(403)) {
      console.log("cross-site: FAILED: the form's POST was not refused with 403");
      status = 1;
    } else {
      console.log("cross-site: ok");
    }
  } finally {
    await browser.close();
    other.close();
  }
  process.exit(status);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});

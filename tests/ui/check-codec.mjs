// Opens one workflow in the Temporal Web UI, in Debian's headless chromium, and reports whether
// its page shows a given text (a customer id that exists only inside encrypted payloads), as one
// JSON line on stdout; tests/tests/web_ui.rs makes the assertions.
//
//   node check-codec.mjs UI_URL WORKFLOW_ID TEXT SCREENSHOT
//
// The UI decrypts payloads by calling the codec server it was started with
// (`--ui-codec-endpoint`) from the browser, so this is the path a person's browser takes.
import { chromium } from 'playwright-core';

const [uiUrl, workflowId, text, shot] = process.argv.slice(2);
if (!shot) {
  console.error('usage: node check-codec.mjs UI_URL WORKFLOW_ID TEXT SCREENSHOT');
  process.exit(2);
}
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = 60_000;

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
const page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
const seen = { opened: false, shows_text: null, codec_requests: 0 };
page.on('request', (r) => { if (r.url().includes('/decode')) seen.codec_requests += 1; });
try {
  const list = `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId="${workflowId}"`)}`;
  await page.goto(list);
  const row = page.getByRole('link', { name: workflowId, exact: true }).first();
  await row.waitFor({ timeout: WAIT });
  await row.click();
  // The details page (its tabs); input and result render once the codec has answered (or failed).
  await page.getByRole('tab', { name: /Event History/ }).waitFor({ timeout: WAIT });
  seen.opened = true;
  let shows = false;
  for (let i = 0; i < 20 && !shows; i++) {
    await page.waitForTimeout(500);
    shows = (await page.locator('body').innerText()).includes(text);
  }
  seen.shows_text = shows;
  await page.screenshot({ path: shot, fullPage: true });
} catch (err) {
  await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
  seen.error = String(err);
}
await browser.close();
console.log(JSON.stringify(seen));

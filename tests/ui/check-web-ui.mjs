// Looks at the Temporal Web UI as a person would, in Debian's headless chromium, and reports what
// it saw as one JSON line on stdout; tests/tests/web_ui.rs makes the assertions.
//
//   node check-web-ui.mjs UI_URL WORKFLOW_ID BUSINESS_DATE OTHER_DATE SCREENSHOT_DIR
//
// 1. the workflow list filtered on BusinessDate = the date (the UI's own `query` parameter, as
//    its filter bar writes it): does the workflow appear? (screenshot list-filtered.png)
// 2. that workflow's "Search Attributes" tab: what does it show? (search-attributes.png)
// 3. the list filtered on another date, once it shows either rows or its empty state: does the
//    workflow stay out? (list-other-date.png)
import { chromium } from 'playwright-core';

const [uiUrl, workflowId, date, otherDate, shots] = process.argv.slice(2);
if (!shots) {
  console.error('usage: node check-web-ui.mjs UI_URL WORKFLOW_ID BUSINESS_DATE OTHER_DATE SCREENSHOT_DIR');
  process.exit(2);
}
// The flags that work on this machine's closed network (no background connections, no sandbox as root).
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = 60_000;

const list = (d) => `${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`BusinessDate="${d}"`)}`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args });
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
const seen = { listed: false, search_attributes: null, listed_under_other_date: null, filter_chip: null };
try {
  await page.goto(list(date));
  const row = page.getByRole('link', { name: workflowId, exact: true }).first();
  await row.waitFor({ timeout: WAIT });
  seen.listed = true;
  seen.filter_chip = (await page.getByText(`BusinessDate = "${date}"`).first().innerText()).trim();
  await page.screenshot({ path: `${shots}/list-filtered.png` });

  await row.click();
  await page.getByRole('tab', { name: /Search Attributes/ }).click();
  const block = page.locator('.cm-content, pre, code').filter({ hasText: '"BusinessKey"' }).first();
  await block.waitFor({ timeout: WAIT });
  seen.search_attributes = JSON.parse(await block.innerText());
  await page.screenshot({ path: `${shots}/search-attributes.png` });

  // The other date: wait until the list has rendered (its filter chip), then look for the row.
  await page.goto(list(otherDate));
  await page.getByText(`BusinessDate = "${otherDate}"`).first().waitFor({ timeout: WAIT });
  const stray = page.getByRole('link', { name: workflowId, exact: true });
  await page.getByText('No Workflows Found').or(stray).first().waitFor({ timeout: WAIT });
  seen.listed_under_other_date = (await stray.count()) > 0;
  await page.screenshot({ path: `${shots}/list-other-date.png` });
} catch (err) {
  await page.screenshot({ path: `${shots}/failure.png` }).catch(() => {});
  seen.error = String(err);
}
await browser.close();
console.log(JSON.stringify(seen));

// The API reference in a real browser (Debian's chromium via playwright-core): reached from the
// dashboard's link, Swagger UI renders every documented operation from the node's own files under
// the dashboard's Content-Security-Policy, with a screenshot kept in test-results/.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openApiJson } from '../../server/api/openapi.js';
import { DASHBOARD_DIST } from '../../server/api/dashboard.js';
import { PROJECT_ROOT } from '../../server/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const CHROMIUM = '/usr/bin/chromium';
const canRun = fs.existsSync(CHROMIUM) && fs.existsSync(path.join(DASHBOARD_DIST, 'index.html'));
const SKIP_MESSAGE =
  'needs Chromium (apt-get install -y chromium) and the built dashboard (npm run build)';
const SCREENSHOT = path.join(PROJECT_ROOT, 'test-results', 'docs.png');

let database: TestDatabase;
let node: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (!canRun) return;
  database = await createTestDatabase();
  node = await startTestServer(database);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await node?.stop();
  await database?.drop();
});

it.skipIf(!canRun)(
  `renders /docs from the dashboard's link (${canRun ? 'Chromium' : SKIP_MESSAGE})`,
  async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    page.setDefaultTimeout(30_000);
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const outside: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(node.url) && !request.url().startsWith('data:'))
        outside.push(request.url());
    });

    await page.goto(node.url);
    const [docs] = await Promise.all([
      page.waitForResponse(`${node.url}/docs`),
      page.getByRole('link', { name: 'API reference' }).click(),
    ]);
    const csp = (await docs.allHeaders())['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    await page.locator('.swagger-ui .opblock').first().waitFor();

    const document = JSON.parse(openApiJson()) as { paths: Record<string, object> };
    const operations = Object.values(document.paths).flatMap((item) => Object.keys(item)).length;
    await expect.poll(() => page.locator('.swagger-ui .opblock').count()).toBe(operations);
    await expect
      .poll(() => page.locator('.opblock-summary-path').allInnerTexts())
      .toContain('/api/specs');

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    expect(outside, 'requests that left the node').toEqual([]);
    expect(problems, 'console errors (a CSP violation shows here)').toEqual([]);
    await page.close();
  },
);

// The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real
// node: the page loads clean and safe, tasks enqueued through the SDK run and finish on it without
// a reload, the stats follow, a failure shows its error, and a signed-in user cancels a task.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScoreSpec } from '@innominatus-queue/client';
import { dashboard, DASHBOARD_DIST } from '../../server/api/dashboard.js';
import { PROJECT_ROOT } from '../../server/paths.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import {
  startTestServer,
  TOKEN,
  type TestServer,
  GUIDE_STATS_FIELDS,
} from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
const NO_CHROMIUM_MESSAGE =
  'needs Chromium: apt-get install -y --no-install-recommends chromium, then npx vitest run tests/e2e/dashboard.browser.test.ts';
const ARTIFACTS = path.join(PROJECT_ROOT, 'test-results');
/** Generous: the browser, the server and the workflow's bash share a busy 2-core machine. */
const UI_TIMEOUT_MS = 30_000;

const spec = (name: string, commands: string[]): ScoreSpec => ({
  apiVersion: 'score.dev/v1b1',
  metadata: { name },
  containers: { web: { image: 'nginx' } },
  workflow: {
    steps: commands.map((command, i) => ({ name: `s${i + 1}`, type: 'bash', config: { command } })),
  },
});

/** The CSP and the other headers every response of the page's scope carries. */
function expectSecurityHeaders(headers: Headers | Record<string, unknown>): void {
  const get = (name: string) =>
    headers instanceof Headers ? headers.get(name) : (headers[name] as string | undefined);
  const csp = get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('unsafe-eval');
  expect(get('x-content-type-options')).toBe('nosniff');
  expect(get('x-frame-options')).toBe('DENY');
  expect(get('referrer-policy')).toBe('no-referrer');
}

describe('the dashboard without a build', () => {
  it('answers / with a 503 saying to run npm run build', async () => {
    const app = Fastify();
    await app.register(dashboard, { root: path.join(os.tmpdir(), `no-dashboard-${process.pid}`) });
    try {
      const response = await app.inject({ method: 'GET', url: '/' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({
        error: { code: 'SERVICE_UNAVAILABLE', message: expect.stringContaining('npm run build') },
      });
      expectSecurityHeaders(response.headers);
    } finally {
      await app.close();
    }
  });
});

describe.skipIf(!hasChromium)(
  `the dashboard in a browser (${hasChromium ? 'Chromium' : NO_CHROMIUM_MESSAGE})`,
  () => {
    let database: TestDatabase;
    let node: TestServer;
    let browser: Browser;
    let page: Page;
    const consoleErrors: string[] = [];

    beforeAll(async () => {
      if (!fs.existsSync(path.join(DASHBOARD_DIST, 'index.html'))) {
        // The server decides at start-up whether there is a page to serve: build it first.
        await promisify(execFile)(
          process.execPath,
          [path.join(PROJECT_ROOT, 'node_modules/vite/bin/vite.js'), 'build', 'dashboard'],
          { cwd: PROJECT_ROOT, timeout: 180_000 },
        );
      }
      database = await createTestDatabase();
      node = await startTestServer(database);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      page.setDefaultTimeout(UI_TIMEOUT_MS);
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(error.message));
    }, 240_000);

    afterAll(async () => {
      await browser?.close();
      await node?.stop();
      await database?.drop();
    });

    /** Evaluated in the page, where sessionStorage exists (this file is type-checked for Node). */
    const sessionValues = () => page.evaluate<string[]>('Object.values(sessionStorage)');
    const statValue = async (key: string) =>
      Number(await page.locator(`[data-stat="${key}"] dd`).getAttribute('data-value'));

    it('serves / with the security headers and cacheable assets', async () => {
      const response = await fetch(`${node.url}/`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expectSecurityHeaders(response.headers);
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(await response.text())?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(`${node.url}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toContain('immutable');
      await asset.arrayBuffer();
    });

    it('loads with the eight stats live and no console errors', async () => {
      const response = await page.goto(node.url);
      expect(response?.status()).toBe(200);
      expectSecurityHeaders(await response!.allHeaders());
      await page.locator('#connection[data-state="open"]').waitFor();
      for (const key of GUIDE_STATS_FIELDS) {
        await page.locator(`[data-stat="${key}"] dd[data-value]`).waitFor();
      }
      expect(await statValue('workers')).toBe(node.config.concurrency);
      expect(consoleErrors).toEqual([]);
    });

    it('shows what is paused and the tasks waiting for a later time', async () => {
      await node.client.pauseQueue({ app_name: 'dash-paused' });
      const { task_id } = await node.client.enqueueSpec({
        spec: spec('dash-later', ['true']),
        delaySeconds: 600,
      });
      await page.locator('#pauses', { hasText: 'dash-paused' }).waitFor();
      await page.locator('#scheduled', { hasText: task_id }).waitFor();
      await node.client.resumeQueue({ app_name: 'dash-paused' });
      await node.client.cancelTask(task_id);
      await page.locator('#pauses').waitFor({ state: 'hidden' });
    });

    it('shows an enqueued task running, ticking, then completed, without a reload', async () => {
      // Gone if the page reloads.
      await page.evaluate(() => ((globalThis as { sameLoad?: boolean }).sameLoad = true));
      const completedBefore = await statValue('tasks_completed');
      const enqueuedBefore = await statValue('tasks_enqueued');

      const { task_id } = await node.client.enqueueSpec({
        spec: spec('browser-app', ['echo working; sleep 6']),
      });
      const row = page.locator(`#active-tasks tr[data-task-id="${task_id}"]`);
      await row.waitFor();
      const elapsed = row.locator('.elapsed');
      const first = await elapsed.textContent();
      expect(first).toMatch(/^\d+:\d\d$/);
      await row.locator('.elapsed', { hasNotText: first! }).waitFor(); // it ticks

      await page
        .locator(`#recent-tasks tr[data-task-id="${task_id}"][data-status="completed"]`)
        .waitFor();
      await row.waitFor({ state: 'detached' });
      await page
        .locator(`[data-stat="tasks_completed"] dd[data-value="${completedBefore + 1}"]`)
        .waitFor();
      expect(await statValue('tasks_enqueued')).toBeGreaterThanOrEqual(enqueuedBefore + 1);
      await page.locator('#throughput:not([data-completed="0"])').waitFor();
      expect(await page.evaluate(() => (globalThis as { sameLoad?: boolean }).sameLoad)).toBe(true);
    });

    it('shows a failed task with its error, and filters by status and application', async () => {
      const { task_id } = await node.client.enqueueSpec({
        spec: spec('broken-app', ['echo about to fail; exit 3']),
      });
      const row = page.locator(`#recent-tasks tr[data-task-id="${task_id}"][data-status="failed"]`);
      await row.waitFor();
      const failed = await node.client.task(task_id);
      expect(failed.error_message).toBeTruthy();
      await row.locator('.error', { hasText: failed.error_message! }).waitFor();
      await page.locator('[data-stat="tasks_failed"] dd:not([data-value="0"])').waitFor();

      await page.locator('#recent-tasks select[name="status"]').selectOption('failed');
      await page.locator('#recent-tasks tbody tr[data-status="completed"]').first().waitFor({
        state: 'detached',
      });
      await row.waitFor();

      await page.locator('#recent-tasks select[name="status"]').selectOption('');
      await page.locator('#recent-tasks input[name="app"]').fill('browser-app');
      await row.waitFor({ state: 'detached' });
      await page.locator('#recent-tasks tbody tr[data-status="completed"]').first().waitFor();
      await page.locator('#recent-tasks input[name="app"]').fill('');
      await row.waitFor();
    });

    it('lets a signed-in user follow a task’s output live and cancel it', async () => {
      const auth = page.locator('#auth');
      await auth.locator('input[name="token"]').fill(TOKEN);
      await auth.getByRole('button', { name: 'Sign in' }).click();
      await auth.getByRole('button', { name: 'Sign out' }).waitFor();
      expect(await sessionValues()).toEqual([TOKEN]);

      const { task_id } = await node.client.enqueueSpec({
        // A running step's record holds its output only once the step ends, so the view shows
        // what is printed after it opens: keep printing, however long the click takes.
        spec: spec('long-app', [
          'echo long task started; for i in $(seq 400); do echo still going; sleep 0.3; done',
        ]),
      });
      await page.locator(`#active-tasks tr[data-task-id="${task_id}"] a`).click();
      const view = page.locator('#task-view');
      await view.locator('.output', { hasText: 'still going' }).waitFor();
      expect(await view.locator('.step').first().getAttribute('data-status')).toBe('running');

      await view.getByRole('button', { name: 'Cancel', exact: true }).click();
      await page.locator('#task-view[data-status="cancelled"]').waitFor();
      await view.locator('.step[data-status="cancelled"]').waitFor();
      await waitFor(async () => (await node.client.task(task_id)).status === 'cancelled', {
        what: 'the task to be cancelled on the server',
        timeoutMs: UI_TIMEOUT_MS,
      });

      // Retry: the task runs again, and the view follows its new attempt live.
      await view.getByRole('button', { name: 'Retry' }).click();
      await page.locator('#task-view[data-status="running"]').waitFor();
      await view
        .locator('.step[data-status="running"] .output', { hasText: 'still going' })
        .waitFor();
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-task-view.png') });
      await view.getByRole('button', { name: 'Cancel', exact: true }).click();
      await page.locator('#task-view[data-status="cancelled"]').waitFor();
      await waitFor(async () => (await node.client.task(task_id)).status === 'cancelled', {
        what: 'the retried task to be cancelled too',
        timeoutMs: UI_TIMEOUT_MS,
      });

      await view.getByRole('button', { name: 'Close' }).click();
      await view.waitFor({ state: 'hidden' });
      await page
        .locator(`#recent-tasks tr[data-task-id="${task_id}"][data-status="cancelled"]`)
        .waitFor();
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

      await auth.getByRole('button', { name: 'Sign out' }).click();
      await auth.getByRole('button', { name: 'Sign in' }).waitFor();
      expect(await sessionValues()).toEqual([]);
      expect(consoleErrors).toEqual([]);
    });
  },
);

// loadGoldenPaths: the shipped folder loads; a broken folder or file stops the start with a
// ConfigError that names the file, the field and the rule.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';
import { GOLDEN_PATHS_DIR } from '../../server/paths.js';
import { listGoldenPaths } from '../../server/services/goldenPathList.js';
import { loadGoldenPaths } from '../../server/workflow/goldenPaths.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-golden-paths-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let folders = 0;
/** A folder holding these files. */
function folder(files: Record<string, string>): string {
  const dir = path.join(root, String(++folders));
  fs.mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const GOOD = `description: Says hello
workflow:
  steps:
    - name: hello
      description: Greets
      type: bash
      config:
        command: echo hello
`;

async function loadError(dir: string): Promise<ConfigError> {
  const error: unknown = await loadGoldenPaths(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe('loadGoldenPaths', () => {
  it('loads the shipped golden paths, with a description for every step', async () => {
    const paths = await loadGoldenPaths(GOLDEN_PATHS_DIR);
    expect([...paths.keys()]).toEqual(['deploy-app', 'ephemeral-env', 'undeploy-app']);
    const list = listGoldenPaths({ goldenPaths: paths });
    expect(list.count).toBe(3);
    expect(list.golden_paths.filter((p) => p.default).map((p) => p.name)).toEqual(['deploy-app']);
    for (const goldenPath of list.golden_paths) {
      for (const step of goldenPath.steps) expect(step.description).toEqual(expect.any(String));
    }
  });

  it('reads GOLDEN_PATHS_DIR relative to the working directory', () => {
    expect(loadConfig({ GOLDEN_PATHS_DIR: 'paths' }, { cwd: '/srv/queue' }).goldenPathsDir).toBe(
      '/srv/queue/paths',
    );
    expect(loadConfig({}, { cwd: '/srv/queue' }).goldenPathsDir).toBeUndefined();
  });

  it('names the file, the field and the rule of an invalid step', async () => {
    const dir = folder({
      'ok.yaml': GOOD,
      'broken.yaml': GOOD.replace('type: bash', 'type: python'),
    });
    expect((await loadError(dir)).message).toBe(
      `Golden path file ${dir}/broken.yaml is invalid: workflow.steps[0].type: unsupported step type 'python'; supported types: bash`,
    );
  });

  it('names a missing or mistyped field', async () => {
    const missing = folder({ 'no-workflow.yaml': 'description: nothing to run\n' });
    expect((await loadError(missing)).message).toMatch(
      new RegExp(`^Golden path file ${missing}/no-workflow.yaml is invalid: workflow: `),
    );
    const timeout = folder({
      'slow.yaml': GOOD.replace('command: echo hello', 'command: echo hello\n        timeout: -1'),
    });
    expect((await loadError(timeout)).message).toBe(
      `Golden path file ${timeout}/slow.yaml is invalid: workflow.steps[0].config.timeout: must be a positive number of seconds`,
    );
    const unknown = folder({ 'extra.yml': `${GOOD}owner: platform\n` });
    expect((await loadError(unknown)).message).toMatch(
      new RegExp(`^Golden path file ${unknown}/extra.yml is invalid: .*owner`),
    );
  });

  it('names a file that is not YAML', async () => {
    const dir = folder({ 'bad.yaml': 'workflow: [unclosed\n' });
    expect((await loadError(dir)).message).toMatch(
      new RegExp(`^Golden path file ${dir}/bad.yaml is invalid: YAML: `),
    );
  });

  it('refuses a file name that is not a plain identifier', async () => {
    const dir = folder({ 'Deploy App.yaml': GOOD });
    expect((await loadError(dir)).message).toMatch(
      new RegExp(
        `^Golden path file ${dir}/Deploy App.yaml is invalid: the file name 'Deploy App' must be a plain identifier`,
      ),
    );
  });

  it('refuses a folder that is missing or holds no golden path', async () => {
    const missing = path.join(root, 'missing');
    expect((await loadError(missing)).message).toMatch(
      new RegExp(`^GOLDEN_PATHS_DIR ${missing} cannot be read: ENOENT`),
    );
    const empty = folder({ 'README.md': 'not a golden path' });
    expect((await loadError(empty)).message).toBe(
      `GOLDEN_PATHS_DIR ${empty} holds no golden-path files (<name>.yaml)`,
    );
  });
});

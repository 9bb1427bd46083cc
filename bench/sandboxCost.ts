// `npx tsx bench/sandboxCost.ts [--steps 200] [--concurrency 1]`: what the bubblewrap sandbox
// costs per bash step. Runs a `true` step through runBashStep and a StepLauncher (the workers' own
// code path, posix_spawn where it loads) with the sandbox off, on, and on without network, and
// prints spawn-to-exit latency per variant.
// No server, no database: only the step itself is timed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../server/config.js';
import { runBashStep } from '../server/workflow/bashStep.js';
import { StepLauncher } from '../server/workflow/stepLauncher.js';
import {
  resolveStepSandbox,
  sandboxArgs,
  type StepSandbox,
} from '../server/workflow/stepSandbox.js';
import { latencySummary } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '1' },
  },
});
const STEPS = Number(values.steps);
const CONCURRENCY = Number(values.concurrency);
const WARMUP = 20;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-bench-sandbox-'));
const logger = pino({ level: 'silent' });
const launcher = new StepLauncher(logger);
const forker = await launcher.forker();
const sandboxFor = (network: boolean): StepSandbox => {
  const config = loadConfig(
    {
      STEP_SANDBOX: 'bwrap',
      STEP_NETWORK: network ? 'on' : 'off',
      WORK_DIR: root,
      PATH: process.env.PATH,
    },
    { cwd: root },
  );
  const sandbox = resolveStepSandbox(config, { logger });
  if (!sandbox) throw new Error('no sandbox');
  return sandbox;
};

async function oneStep(sandbox: StepSandbox | undefined, index: number): Promise<number> {
  const workDir = path.join(root, `step-${index}`);
  const tmpDir = `${workDir}-tmp`;
  fs.mkdirSync(workDir);
  fs.mkdirSync(tmpDir);
  const started = performance.now();
  const result = await runBashStep({
    command: 'true',
    cwd: workDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workDir },
    timeoutMs: 30_000,
    killGraceMs: 1_000,
    outputLimitBytes: 1024 * 1024,
    signal: new AbortController().signal,
    spawn: launcher.spawn,
    sandbox: sandbox && { file: sandbox.bwrap, args: sandboxArgs(sandbox, { workDir, tmpDir }) },
  });
  const elapsed = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`step failed: ${result.output}`);
  fs.rmSync(workDir, { recursive: true });
  fs.rmSync(tmpDir, { recursive: true });
  return elapsed;
}

async function measure(sandbox: StepSandbox | undefined): Promise<number[]> {
  let next = 0;
  const times: number[] = [];
  const total = WARMUP + STEPS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < total; i = next++) {
        const ms = await oneStep(sandbox, i);
        if (i >= WARMUP) times.push(ms);
      }
    }),
  );
  return times;
}

const variants: [string, StepSandbox | undefined][] = [
  ['STEP_SANDBOX=off', undefined],
  ['bwrap', sandboxFor(true)],
  ['bwrap, STEP_NETWORK=off', sandboxFor(false)],
];
const rows: string[] = [];
let baseline = 0;
try {
  for (const [name, sandbox] of variants) {
    const times = await measure(sandbox);
    const s = { ...latencySummary(times), mean: times.reduce((a, b) => a + b, 0) / times.length };
    if (sandbox === undefined) baseline = s.p50;
    const extra = sandbox === undefined ? '' : ` (+${(s.p50 - baseline).toFixed(1)} ms)`;
    rows.push(
      `| ${name.padEnd(24)} | ${s.p50.toFixed(1).padStart(6)}${extra.padEnd(12)} | ${s.p95.toFixed(1).padStart(6)} | ${s.mean.toFixed(1).padStart(6)} |`,
    );
  }
} finally {
  await launcher.close();
  fs.rmSync(root, { recursive: true, force: true });
}
console.log(
  `${STEPS} \`true\` steps (after ${WARMUP} warm-up), ${CONCURRENCY} at a time, forked with ${forker}, spawn to exit (ms):\n`,
);
console.log(`| variant                  | p50                 |    p95 |   mean |`);
console.log(`| ------------------------ | ------------------- | ------ | ------ |`);
for (const row of rows) console.log(row);

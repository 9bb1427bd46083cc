// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function and per module, so
// a profile can be read as "where does the time go" without opening DevTools.
import fs from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  /** Where it lives: a project path, `pkg:<package>`, `node:<module>` or a V8 pseudo-frame. */
  where: string;
  ms: number;
  /** Share of the busy (non-idle) time, 0–100. */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  busyMs: number;
  functions: SelfTime[];
  modules: SelfTime[];
}

/** `file:///…/node_modules/pg/lib/client.js` → `pkg:pg`; project files relative to the root. */
export function locate(url: string, root: string): string {
  if (url === '') return '(native/V8)';
  if (url.startsWith('node:')) return url;
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return `pkg:${pkg}`;
  }
  return path.isAbsolute(file) ? path.relative(root, file) : file;
}

export function summariseProfile(
  profile: CpuProfile,
  options: { root: string; file: string; top?: number },
): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    // Each delta is the time since the previous sample; charge it to the sample that follows it.
    for (let i = 0; i < samples.length; i++) {
      const id = samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i]!));
    }
  } else {
    const interval = (profile.endTime - profile.startTime) / Math.max(1, totalHits(profile));
    for (const n of profile.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * interval);
  }
  let totalUs = 0;
  let idleUs = 0;
  const fns = new Map<string, { name: string; where: string; us: number }>();
  const mods = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const where = locate(url, options.root);
    const name = functionName || '(anonymous)';
    const key = `${name}@${where}:${lineNumber}`;
    const entry = fns.get(key) ?? {
      name,
      where: url ? `${where}:${lineNumber + 1}` : where,
      us: 0,
    };
    entry.us += us;
    fns.set(key, entry);
    const module = url ? where.replace(/:\d+$/, '') : name;
    mods.set(module, (mods.get(module) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number) => (busyUs > 0 ? (us / busyUs) * 100 : 0);
  const top = options.top ?? 25;
  return {
    file: options.file,
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, percent: pct(f.us) })),
    modules: [...mods.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ name: where, where, ms: us / 1000, percent: pct(us) })),
  };
}

function totalHits(profile: CpuProfile): number {
  return profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
}

export async function summariseProfileFile(
  file: string,
  options: { root: string; top?: number },
): Promise<ProfileSummary> {
  const profile = JSON.parse(await fs.readFile(file, 'utf8')) as CpuProfile;
  return summariseProfile(profile, { ...options, file });
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const row = (s: SelfTime) =>
    `  ${s.percent.toFixed(1).padStart(5)}%  ${s.ms.toFixed(0).padStart(7)} ms  ${s.name}${s.name === s.where ? '' : `  ${s.where}`}`;
  return [
    `${summary.file}`,
    `  busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms profiled (idle ${summary.idleMs.toFixed(0)} ms)`,
    '  self time by module:',
    ...summary.modules.slice(0, 15).map(row),
    '  self time by function:',
    ...summary.functions.map(row),
  ].join('\n');
}

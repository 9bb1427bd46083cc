// Where the CLI finds its server and token: a flag wins over the environment (QUEUE_URL,
// QUEUE_TOKEN), which wins over the config file, which wins over the default URL. The token may
// also sit in a file (--token-file, QUEUE_TOKEN_FILE), e.g. a mounted Kubernetes secret; each
// comes right after its inline twin.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { describeZodError } from '../../shared/errors.js';
import { CliError } from './exitCodes.js';
import { EXIT } from './exitCodes.js';

export const DEFAULT_URL = 'http://localhost:8081';

export type SettingSource = 'flag' | 'flag file' | 'env' | 'env file' | 'config file' | 'default';

export interface Settings {
  url: string;
  urlSource: SettingSource;
  token: string | undefined;
  tokenSource: SettingSource | undefined;
  /** The config file consulted (whether or not it exists), for messages. */
  configPath: string;
}

const urlSchema = z
  .string()
  .trim()
  .refine((value) => /^https?:\/\/[^/\s]+/i.test(value), 'must be an http:// or https:// URL');

const configFileSchema = z.object({
  url: urlSchema.optional(),
  token: z.string().trim().min(1, 'must not be empty').optional(),
});
type ConfigFile = z.infer<typeof configFileSchema>;

/** `$XDG_CONFIG_HOME/innominatus-queue/config.json`, else `~/.config/innominatus-queue/config.json`. */
export function configFilePath(env: NodeJS.ProcessEnv): string {
  const base =
    env.XDG_CONFIG_HOME?.trim() || path.join(env.HOME?.trim() || os.homedir(), '.config');
  return path.join(base, 'innominatus-queue', 'config.json');
}

function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(
      `Cannot read the config file ${file}: ${(error as Error).message}`,
      EXIT.refused,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      `The config file ${file} is not valid JSON: ${(error as Error).message}`,
      EXIT.refused,
      { cause: error },
    );
  }
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = describeZodError(parsed.error).map((p) => `  ${p.path}: ${p.message}`);
    throw new CliError(
      `The config file ${file} is invalid (keys: "url", "token"):\n${problems.join('\n')}`,
      EXIT.refused,
    );
  }
  return parsed.data;
}

/** The token in `file`, without surrounding blanks (a trailing newline is the usual). */
function readTokenFile(file: string | undefined, from: string): string | undefined {
  if (nonEmpty(file) === undefined) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file!.trim(), 'utf8');
  } catch (error) {
    throw new CliError(
      `Cannot read the token file ${file} (${from}): ${(error as Error).message}`,
      EXIT.refused,
      { cause: error },
    );
  }
  const token = nonEmpty(text);
  if (token === undefined)
    throw new CliError(`The token file ${file} (${from}) is empty.`, EXIT.refused);
  return token;
}

/** The first candidate that yields a value, with where it came from. Later ones are not asked. */
function firstSet(
  candidates: [SettingSource, () => string | undefined][],
): [string, SettingSource] | undefined {
  for (const [source, get] of candidates) {
    const value = get();
    if (value !== undefined) return [value, source];
  }
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === '' ? undefined : trimmed;
}

function checkUrl(value: string | undefined, from: string): string | undefined {
  if (nonEmpty(value) === undefined) return undefined;
  const parsed = urlSchema.safeParse(value);
  if (!parsed.success) {
    throw new CliError(`${from} must be an http:// or https:// URL, not '${value}'.`, EXIT.usage);
  }
  return parsed.data;
}

/**
 * Resolves the URL and the token, each on its own. The config file is read only when a flag or
 * the environment leaves something to find, so a broken file never stands in a flag's way.
 */
export function resolveSettings(
  flags: { url?: string | undefined; token?: string | undefined; tokenFile?: string | undefined },
  env: NodeJS.ProcessEnv,
): Settings {
  const configPath = configFilePath(env);
  let file: ConfigFile | undefined;
  const fromFile = () => (file ??= readConfigFile(configPath));

  const [url, urlSource] = firstSet([
    ['flag', () => checkUrl(flags.url, '--url')],
    ['env', () => checkUrl(env.QUEUE_URL, 'QUEUE_URL')],
    ['config file', () => fromFile().url],
  ]) ?? [DEFAULT_URL, 'default'];
  const token = firstSet([
    ['flag', () => nonEmpty(flags.token)],
    ['flag file', () => readTokenFile(flags.tokenFile, '--token-file')],
    ['env', () => nonEmpty(env.QUEUE_TOKEN)],
    ['env file', () => readTokenFile(env.QUEUE_TOKEN_FILE, 'QUEUE_TOKEN_FILE')],
    ['config file', () => fromFile().token],
  ]);

  return {
    url: url.replace(/\/+$/, ''),
    urlSource,
    token: token?.[0],
    tokenSource: token?.[1],
    configPath,
  };
}

/** Where a setting came from, in words for messages: "--url", "QUEUE_URL", "the config file …". */
export function describeSource(
  source: SettingSource,
  which: 'url' | 'token',
  configPath: string,
): string {
  switch (source) {
    case 'flag':
      return `--${which}`;
    case 'flag file':
      return '--token-file';
    case 'env':
      return which === 'url' ? 'QUEUE_URL' : 'QUEUE_TOKEN';
    case 'env file':
      return 'QUEUE_TOKEN_FILE';
    case 'config file':
      return configPath;
    case 'default':
      return 'the default';
  }
}

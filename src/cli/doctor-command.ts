import { spawn } from 'node:child_process';
import { INSTALL_CHROMIUM, locateChromium } from '../browser/chromium.js';
import { existsSync, statSync } from 'node:fs';
import { createClient } from '@libsql/client';
import type { Redis } from 'ioredis';
import { loadCatalogue } from '../catalogue/load.js';
import { ConfigError, loadConfig, type Config } from '../config/env.js';
import { runGit } from '../publish/git-command.js';
import { remoteAccess } from '../publish/remote-access.js';
import { databaseFilePath, describeDatabaseUrl } from '../store/database.js';
import { MIGRATIONS } from '../store/migrations.js';
import { scrubSecrets } from '../log.js';
import { checkMemoryPolicy } from '../../queues/connection.js';
import { databaseProblem, describeRedisUrl, printResult, probeRedis, redisHint, redisUrlOf, shortReason, withTimeout } from './operator.js';

export interface Check {
  name: string;
  status: 'ok' | 'fail' | 'skip';
  /** What was found, one line. */
  detail: string;
  /** How to fix it, when it failed. */
  fix?: string;
}

/** Largest gap between this host's clock and Redis' before `clock` fails. */
export const MAX_CLOCK_SKEW_MS = 30_000;
/** No check may hold the doctor longer than this. */
const CHECK_TIMEOUT_MS = 25_000;

const ok = (name: string, detail: string): Check => ({ name, status: 'ok', detail });
const fail = (name: string, detail: string, fix: string): Check => ({ name, status: 'fail', detail, fix });
const skip = (name: string, detail: string): Check => ({ name, status: 'skip', detail });

/**
 * `poller doctor`: checks the configuration, Redis (reachable, noeviction), the database (reachable, migrated),
 * the git remote (reachable with its credentials), Chromium, the catalogue and the clock. Reads only: it creates,
 * migrates and pushes nothing. Exit 1 when a check fails.
 */
export async function doctorCommand(json: boolean): Promise<number> {
  const checks: Check[] = [];
  let config: Config;
  try {
    config = loadConfig();
    checks.push(ok('config', 'environment variables valid'));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    checks.push(fail('config', err.problems.join('; '), 'fix the variables named (see README.md, Configuration); the other checks need a valid configuration'));
    return report(checks, json);
  }

  let redis: Redis | null = null;
  try {
    const redisCheck = await guarded('redis', async () => {
      const url = redisUrlOf(config);
      const display = describeRedisUrl(url);
      const probe = await probeRedis(url, 3000);
      if ('reason' in probe) return fail('redis', `no Redis answers at ${display}${config.redisUrl ? ' (REDIS_URL)' : ' (REDIS_URL not set: the default)'}: ${probe.reason}`, `start Redis, or ${redisHint(config)}`);
      redis = probe.redis;
      const policy = await checkMemoryPolicy(probe.redis);
      if (policy === null) return ok('redis', `${display} answers; maxmemory-policy cannot be read (CONFIG disabled): make sure it is noeviction`);
      if (policy !== 'noeviction') {
        return fail('redis', `${display} answers, but maxmemory-policy is ${policy}: under memory pressure Redis may delete queue state`, 'redis-cli config set maxmemory-policy noeviction, and set it in redis.conf (deploy/ has one) so that it survives a restart');
      }
      return ok('redis', `${display} answers; maxmemory-policy noeviction`);
    });
    checks.push(redisCheck);
    checks.push(await guarded('database', () => checkDatabase(config)));
    checks.push(await guarded('git remote', () => checkRemote(config)));
    checks.push(await guarded('chromium', () => checkChromium(config)));
    checks.push(await guarded('catalogue', () => checkCatalogue(config)));
    checks.push(await guarded('clock', () => checkClock(redis)));
  } finally {
    (redis as Redis | null)?.disconnect();
  }
  return report(checks, json);
}

/** Runs a check with a deadline; an unexpected error is that check's failure, never the doctor's. */
async function guarded(name: string, run: () => Promise<Check>): Promise<Check> {
  try {
    return await withTimeout(run(), CHECK_TIMEOUT_MS, `no answer within ${CHECK_TIMEOUT_MS / 1000} s`);
  } catch (err) {
    return fail(name, scrubSecrets(shortReason(err)), 'see the message; run the check again with LOG_LEVEL=debug for more');
  }
}

async function checkDatabase(config: Config): Promise<Check> {
  const description = describeDatabaseUrl(config.databaseUrl);
  const path = databaseFilePath(config.databaseUrl);
  if (path !== null) {
    if (!existsSync(path)) {
      return fail('database', `file ${path} does not exist (TURSO_DATABASE_URL=${description})`, "point TURSO_DATABASE_URL at the poller's database (file:PATH, or the Turso URL with TURSO_AUTH_TOKEN); a poller creates its file at its first start");
    }
    if (!statSync(path).isFile()) return fail('database', `${path} is not a file (TURSO_DATABASE_URL)`, 'point TURSO_DATABASE_URL at the database file');
  }
  const client = createClient({ url: config.databaseUrl, authToken: config.databaseToken, timeout: 5000 });
  try {
    let applied: number[];
    try {
      applied = (await client.execute('SELECT id FROM schema_migrations ORDER BY id')).rows.map((r) => Number(r.id));
    } catch (err) {
      const reason = shortReason(err);
      if (/no such table/i.test(reason)) {
        return fail('database', `${description} answers but was never migrated (no schema_migrations table)`, 'start any poller role once (poller start, worker, api...): it migrates at start; doctor never changes the database');
      }
      return fail('database', scrubSecrets(databaseProblem(err, description)), config.databaseToken === undefined && !path ? 'set TURSO_AUTH_TOKEN for a Turso database, and check TURSO_DATABASE_URL' : 'check TURSO_DATABASE_URL and TURSO_AUTH_TOKEN');
    }
    const known = MIGRATIONS.map((m) => m.id);
    const missing = MIGRATIONS.filter((m) => !applied.includes(m.id));
    if (missing.length) {
      return fail(
        'database',
        `${description}: ${known.length - missing.length} of ${known.length} migrations applied; missing ${missing.map((m) => `${m.id} (${m.name})`).join(', ')}`,
        'start a poller role of this version once: it migrates at start; doctor never changes the database',
      );
    }
    const newer = applied.filter((id) => !known.includes(id));
    return ok('database', `${description} answers; migrations up to date (${known.length})${newer.length ? `; also ${newer.length} newer than this program (${newer.join(', ')}): update it` : ''}`);
  } finally {
    client.close();
  }
}

async function checkRemote(config: Config): Promise<Check> {
  let access;
  try {
    access = remoteAccess(config.publishRemote, config.githubToken);
  } catch (err) {
    return fail('git remote', `API_DATA_REPO: ${shortReason(err)}`, 'set API_DATA_REPO to https://host/owner/repo.git (token in GITHUB_TOKEN) or a local bare repository path');
  }
  const local = !/^[^/]*:/.test(access.url);
  if (local && !existsSync(access.url)) {
    return fail('git remote', `API_DATA_REPO ${access.display} does not exist`, `create it: git init --bare --initial-branch=main ${access.display} (or point API_DATA_REPO at the published repository)`);
  }
  const r = await runGit(['ls-remote', '--heads', access.url], { config: access.config, secrets: access.secrets, allowFailure: true, timeoutMs: 20_000 });
  if (r.code !== 0) {
    const reason = scrubSecrets(r.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' ') || `exit ${r.code}`, [...access.secrets]);
    const auth = /auth|401|403|denied|credential|could not read Username/i.test(reason);
    const fix = local
      ? `make ${access.display} a git repository (git init --bare --initial-branch=main ${access.display})`
      : auth
        ? `set GITHUB_TOKEN to a token with read and write access to ${access.display}`
        : `check API_DATA_REPO (${access.display}) and the network${access.config.length ? '' : '; set GITHUB_TOKEN if the repository is private'}`;
    return fail('git remote', `git ls-remote ${access.display} failed: ${reason}`, fix);
  }
  const branches = r.stdout
    .toString('utf8')
    .split('\n')
    .map((l) => l.split('\t')[1]?.replace('refs/heads/', ''))
    .filter((b): b is string => !!b)
    .sort();
  const token = access.config.length ? ' with GITHUB_TOKEN' : '';
  return ok('git remote', `${access.display} reachable${token}; ${branches.length ? `branches ${branches.join(', ')}` : 'no branches yet'} (push rights are proven by the first export)`);
}

function runVersion(path: string): Promise<{ code: number | null; out: string; error?: string }> {
  return new Promise((resolveFn) => {
    let out = '';
    const child = spawn(path, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    child.stdout.on('data', (d) => (out += String(d)));
    child.once('error', (err) => resolveFn({ code: null, out, error: err.message }));
    child.once('close', (code) => resolveFn({ code, out }));
  });
}

async function checkChromium(config: Config): Promise<Check> {
  const found = locateChromium(config.chromiumPath);
  const install = INSTALL_CHROMIUM;
  if (!found.path) return fail('chromium', `not found or not executable (looked for ${found.tried})`, install);
  const r = await runVersion(found.path);
  const version = r.out.trim().split('\n').find((l) => /chrom/i.test(l)) ?? r.out.trim().split('\n')[0];
  if (r.code !== 0 || !version) {
    return fail('chromium', `${found.path} --version failed: ${r.error ?? `exit ${r.code}`}`, config.chromiumPath ? `check CHROMIUM_PATH (${config.chromiumPath}), or ${install}` : install);
  }
  return ok('chromium', `${version.trim()} (${found.path})`);
}

async function checkCatalogue(config: Config): Promise<Check> {
  try {
    const c = await loadCatalogue(config.cataloguePath);
    const vendors = new Set(c.targets.map((t) => t.vendor)).size;
    if (c.targets.length === 0) return fail('catalogue', `${config.cataloguePath} has no enabled target`, 'enable at least one provider in the catalogue, or set CATALOGUE_PATH');
    return ok('catalogue', `${config.cataloguePath}: ${c.targets.length} targets, ${Object.keys(c.file.coins).length} coins, ${vendors} vendors`);
  } catch (err) {
    const problems = (err as { problems?: string[] }).problems;
    const detail = problems ? `${config.cataloguePath} is refused: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}` : shortReason(err);
    return fail('catalogue', detail, `fix the file at the place named, or set CATALOGUE_PATH to a valid providers.json`);
  }
}

export async function checkClock(redis: Pick<Redis, 'time'> | null): Promise<Check> {
  if (!redis) return skip('clock', 'compared with the Redis server time: skipped, Redis does not answer');
  const before = Date.now();
  const [seconds, micros] = await redis.time();
  const after = Date.now();
  const redisMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const skew = Math.round((before + after) / 2 - redisMs);
  const text = `${Math.abs(skew) < 1000 ? `${skew} ms` : `${(skew / 1000).toFixed(1)} s`} ${skew >= 0 ? 'ahead of' : 'behind'} the Redis server`;
  if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
    return fail('clock', `this host is ${text} (more than ${MAX_CLOCK_SKEW_MS / 1000} s): schedules, windows and freshness would be wrong`, 'synchronise the clocks of this host and the Redis host (timedatectl set-ntp true, or chrony/ntpd)');
  }
  return ok('clock', `this host is ${text}`);
}

function report(checks: Check[], json: boolean): number {
  const failed = checks.filter((c) => c.status === 'fail');
  const width = Math.max(...checks.map((c) => c.name.length));
  const mark = { ok: 'ok  ', fail: 'FAIL', skip: '--  ' } as const;
  const lines = checks.map((c) => `${mark[c.status]}  ${c.name.padEnd(width)}  ${c.detail}${c.fix ? ` -- fix: ${c.fix}` : ''}`);
  lines.push(failed.length ? `${failed.length} of ${checks.length} checks failed: ${failed.map((c) => c.name).join(', ')}` : `all ${checks.filter((c) => c.status === 'ok').length} checks passed`);
  printResult(json, { ok: failed.length === 0, checks }, lines);
  return failed.length ? 1 : 0;
}

import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Catalogue } from '../catalogue/load.js';
import { ensureLocalRemote } from '../publish/local-remote.js';
import { createRedisConnection } from '../../queues/connection.js';
import { scrapeQueueName } from '../../queues/names.js';
import { enqueueScrapesNow } from '../../queues/scrape-now.js';
import { deleteKeys } from '../redis/delete-keys.js';
import { startRole, stopRole } from './scale-out.js';
import { round } from './stats.js';

export interface SoakOptions {
  redisUrl: string;
  prefix: string;
  /** Catalogue pointed at a zero-latency fleet, and the file it was written to. */
  catalogue: Catalogue;
  cataloguePath: string;
  workdir: string;
  /** How long the load runs. Default 30 minutes. */
  minutes?: number;
  /** How often the resident set of every process is sampled. Default 60 s. */
  sampleEveryMs?: number;
  /** A whole catalogue round is enqueued this often, on top of the schedulers. Default 5 s (33 jobs/s). */
  roundEveryMs?: number;
  progress?: (line: string) => void;
}

export interface SoakResult {
  minutes: number;
  jobsEnqueued: number;
  /** Resident set (MB) of each process at each sample, the first sample at start. */
  rssMb: Record<string, number[]>;
  /** Jobs waiting in the scrape queues at each sample: a growing backlog would grow Redis, not leak. */
  waiting: number[];
  /** Per process: the peak of the last third of the run against the peak of the middle third (1.0: flat). */
  growth: Record<string, number>;
  /** Every process grew less than 10% from the middle third to the last. */
  levelsOff: boolean;
}

async function rssOf(pid: number): Promise<number | null> {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return kb ? round(Number(kb[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

/**
 * One poller's roles as separate processes (scheduler, worker, exporter, merger, api) under load against the
 * zero-latency fleet for `minutes`: the resident set of every process each minute, and whether it levels off.
 */
export async function measureSoak(options: SoakOptions): Promise<SoakResult> {
  const minutes = options.minutes ?? 30;
  const sampleEveryMs = options.sampleEveryMs ?? 60_000;
  const say = options.progress ?? (() => undefined);
  const remote = join(options.workdir, 'soak-remote.git');
  await ensureLocalRemote(remote);
  // The fleet is ours: no politeness limit, so the worker keeps up with the load and no backlog builds in Redis.
  const vendorsPath = join(options.workdir, 'soak-vendors.json');
  await writeFile(vendorsPath, JSON.stringify({ defaults: { concurrency: 4, rateLimit: null } }));
  const env = {
    ...process.env,
    POLLER_ID: 'api1',
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.prefix,
    CATALOGUE_PATH: options.cataloguePath,
    CATALOGUE_WATCH_MS: '0',
    VENDORS_PATH: vendorsPath,
    SCRAPE_INTERVAL_MINUTES: '1',
    TURSO_DATABASE_URL: `file:${join(options.workdir, 'soak.db')}`,
    RECOVERY_LOG_DIR: join(options.workdir, 'soak-log'),
    API_DATA_REPO: remote,
    PUBLISH_DIR: join(options.workdir, 'soak-publish'),
    PUBLISH_BRANCHES: 'api1',
    EXPORT_MIN_INTERVAL_MS: '2000',
    MERGE_EVERY_MINUTES: '1',
    SNAPSHOT_EVERY_HOURS: '0',
    API_PORT: '0',
    LOG_LEVEL: 'info',
  };
  const roles: Array<[string, string]> = [
    ['scheduler', 'job schedulers reconciled'],
    ['worker', 'scrape workers started'],
    ['exporter', 'running'],
    ['merger', 'running'],
    ['api', 'running'],
  ];
  const children = new Map<string, ChildProcess>();
  const control = createRedisConnection(options.redisUrl, { blocking: false });
  const redisPid = Number(/process_id:(\d+)/.exec(await control.info('server'))?.[1]);
  const rssMb: Record<string, number[]> = {};
  const waiting: number[] = [];
  const queues = [...new Set(options.catalogue.targets.map((t) => scrapeQueueName(t.vendor)))].map((name) => new Queue(name, { connection: control, prefix: options.prefix }));
  let jobsEnqueued = 0;
  try {
    for (const [role, ready] of roles) children.set(role, await startRole(role, env, ready));
    const sample = async () => {
      for (const [role, child] of children) (rssMb[role] ??= []).push((await rssOf(child.pid!)) ?? Number.NaN);
      if (redisPid) (rssMb['redis-server'] ??= []).push((await rssOf(redisPid)) ?? Number.NaN);
      waiting.push((await Promise.all(queues.map((q) => q.getWaitingCount()))).reduce((a, b) => a + b, 0));
    };
    await sample();
    const end = Date.now() + minutes * 60_000;
    let nextSample = Date.now() + sampleEveryMs;
    let round_ = 0;
    while (Date.now() < end) {
      const ids = await enqueueScrapesNow(options.catalogue.targets, { connection: control, prefix: options.prefix, pollerId: 'api1', policy: { attempts: 1, backoffMs: 1000 }, batchId: `soak${round_++}` });
      jobsEnqueued += [...ids.values()].reduce((n, l) => n + l.length, 0);
      await new Promise((r) => setTimeout(r, options.roundEveryMs ?? 5000));
      if (Date.now() >= nextSample) {
        await sample();
        nextSample += sampleEveryMs;
        const worker = rssMb.worker.at(-1);
        say(`  soak ${Math.round((Date.now() - (end - minutes * 60_000)) / 60_000)}/${minutes} min: ${jobsEnqueued} jobs enqueued, ${waiting.at(-1)} waiting; RSS worker ${worker} MB, exporter ${rssMb.exporter.at(-1)} MB, merger ${rssMb.merger.at(-1)} MB, api ${rssMb.api.at(-1)} MB, redis ${rssMb['redis-server']?.at(-1)} MB`);
      }
    }
    await sample();
  } finally {
    for (const child of children.values()) await stopRole(child).catch(() => undefined);
    await Promise.all(queues.map((q) => q.close()));
    await deleteKeys(control, `${options.prefix}:*`);
    control.disconnect();
  }
  const growth: Record<string, number> = {};
  for (const [name, series] of Object.entries(rssMb)) {
    const third = Math.max(1, Math.floor(series.length / 3));
    const middle = Math.max(...series.slice(third, 2 * third));
    const last = Math.max(...series.slice(2 * third));
    growth[name] = round(last / middle, 3);
  }
  return { minutes, jobsEnqueued, rssMb, waiting, growth, levelsOff: Object.values(growth).every((g) => g < 1.1) };
}

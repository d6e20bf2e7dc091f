import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Catalogue } from '../catalogue/load.js';
import { createRedisConnection } from '../../queues/connection.js';
import { enqueueScrapesNow, waitForJobs } from '../../queues/scrape-now.js';
import { deleteKeys } from '../redis/delete-keys.js';
import { cpuSecondsOfPid, peakRssOfPid, round } from './stats.js';

const POLLER_BIN = fileURLToPath(new URL('../../../bin/poller.js', import.meta.url));

export interface ScaleOutOptions {
  redisUrl: string;
  prefix: string;
  /** Catalogue pointed at a zero-latency fleet, and the file it was written to. */
  catalogue: Catalogue;
  cataloguePath: string;
  workdir: string;
  /** Worker process counts measured. Default [1, 2, 4]. */
  processes?: number[];
  /** Jobs per measurement (whole catalogue rounds). Default 1000. */
  jobs?: number;
  /** Jobs at once per vendor queue in each process. Default 4. */
  concurrency?: number;
  progress?: (line: string) => void;
}

export interface ScaleOutFigure {
  processes: number;
  jobs: number;
  jobsPerSec: number;
  /** Throughput relative to one process. */
  speedup: number;
  workerPeakRssMb: number[];
  /** CPU used during the run, in cores: the worker processes, this process (the fleet), and redis-server. */
  cpu: { workers: number; fleet: number; redis: number; total: number };
}

/** Starts one `poller <role>` process and resolves once its log says `ready`. */
export async function startRole(role: string, env: NodeJS.ProcessEnv, ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [POLLER_BIN, role], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (err.includes(ready)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code} before it was ready:\n${err.slice(-2000)}`)));
  });
  return child;
}

/** CPU seconds redis-server has used (INFO cpu). */
async function redisCpuSeconds(redis: ReturnType<typeof createRedisConnection>): Promise<number> {
  const info = await redis.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return get('used_cpu_sys') + get('used_cpu_user');
}

const startWorker = (env: NodeJS.ProcessEnv) => startRole('worker', env, 'scrape workers started');

export async function stopRole(child: ChildProcess): Promise<void> {
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

/** Peak RSS of the scheduler (after reconciling the real catalogue) and of the API role, each in its own process. */
export async function measureRoleMemory(options: { redisUrl: string; prefix: string; cataloguePath: string; workdir: string }): Promise<{ schedulerMb: number | null; apiMb: number | null }> {
  const env = {
    ...process.env,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.prefix,
    CATALOGUE_PATH: options.cataloguePath,
    CATALOGUE_WATCH_MS: '0',
    TURSO_DATABASE_URL: `file:${join(options.workdir, 'roles.db')}`,
    API_PORT: '0',
    LOG_LEVEL: 'info',
  };
  const control = createRedisConnection(options.redisUrl, { blocking: false });
  try {
    const scheduler = await startRole('scheduler', env, 'job schedulers reconciled');
    const schedulerMb = await peakRssOfPid(scheduler.pid!);
    await stopRole(scheduler);
    const api = await startRole('api', env, 'running');
    const apiMb = await peakRssOfPid(api.pid!);
    await stopRole(api);
    return { schedulerMb, apiMb };
  } finally {
    await deleteKeys(control, `${options.prefix}:*`);
    control.disconnect();
  }
}

/** Scrape throughput with 1, 2 and 4 worker processes against one Redis and one database file. */
export async function measureScaleOut(options: ScaleOutOptions): Promise<ScaleOutFigure[]> {
  const processes = options.processes ?? [1, 2, 4];
  const jobsWanted = options.jobs ?? 1000;
  const say = options.progress ?? (() => undefined);
  const vendorsPath = join(options.workdir, 'scale-vendors.json');
  await writeFile(vendorsPath, JSON.stringify({ defaults: { concurrency: options.concurrency ?? 4, rateLimit: null } }));
  const rounds = Math.max(1, Math.round(jobsWanted / options.catalogue.targets.length));
  const figures: ScaleOutFigure[] = [];
  const control = createRedisConnection(options.redisUrl, { blocking: false });
  try {
    for (const n of processes) {
      const prefix = `${options.prefix}-p${n}`;
      const env = {
        ...process.env,
        POLLER_ID: 'api1',
        REDIS_URL: options.redisUrl,
        REDIS_PREFIX: prefix,
        CATALOGUE_PATH: options.cataloguePath,
        CATALOGUE_WATCH_MS: '0',
        VENDORS_PATH: vendorsPath,
        TURSO_DATABASE_URL: `file:${join(options.workdir, `scale-${n}.db`)}`,
        RECOVERY_LOG_DIR: join(options.workdir, `scale-${n}-log`),
        LOG_LEVEL: 'info',
      };
      const children = await Promise.all(Array.from({ length: n }, () => startWorker(env)));
      try {
        const cpuBefore = { workers: children.map((c) => cpuSecondsOfPid(c.pid!) ?? 0), fleet: process.cpuUsage(), redis: await redisCpuSeconds(control) };
        const started = Date.now();
        const ids = new Map<string, string[]>();
        for (let r = 0; r < rounds; r++) {
          const batch = await enqueueScrapesNow(options.catalogue.targets, { connection: control, prefix, pollerId: 'api1', policy: { attempts: 1, backoffMs: 1000 }, batchId: `scale${n}r${r}` });
          for (const [q, list] of batch) ids.set(q, [...(ids.get(q) ?? []), ...list]);
        }
        const jobs = rounds * options.catalogue.targets.length;
        const settled = await waitForJobs(ids, { connection: control, prefix, timeoutMs: 20 * 60_000, pollMs: 250 });
        const wallSec = (settled.lastFinishedOn - started) / 1000;
        const jobsPerSec = round(jobs / wallSec, 1);
        const fleetCpu = process.cpuUsage(cpuBefore.fleet);
        const cpu = {
          workers: round(children.reduce((sum, c, i) => sum + ((cpuSecondsOfPid(c.pid!) ?? 0) - cpuBefore.workers[i]), 0) / wallSec, 2),
          fleet: round((fleetCpu.user + fleetCpu.system) / 1e6 / wallSec, 2),
          redis: round(((await redisCpuSeconds(control)) - cpuBefore.redis) / wallSec, 2),
          total: 0,
        };
        cpu.total = round(cpu.workers + cpu.fleet + cpu.redis, 2);
        const workerPeakRssMb = (await Promise.all(children.map((c) => peakRssOfPid(c.pid!)))).filter((x): x is number => x !== null);
        figures.push({ processes: n, jobs, jobsPerSec, speedup: round(jobsPerSec / (figures[0]?.jobsPerSec ?? jobsPerSec), 2), workerPeakRssMb, cpu });
        say(`  ${n} worker process${n > 1 ? 'es' : ''}: ${jobsPerSec} jobs/s (${figures.at(-1)!.speedup}x); CPU in cores: workers ${cpu.workers}, fleet ${cpu.fleet}, redis ${cpu.redis}`);
      } finally {
        await Promise.all(children.map(stopRole));
        await deleteKeys(control, `${prefix}:*`);
      }
    }
  } finally {
    control.disconnect();
  }
  return figures;
}

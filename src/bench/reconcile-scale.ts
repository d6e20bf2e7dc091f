import type { Redis } from 'ioredis';
import type { CatalogueFile } from '../catalogue/schema.js';
import { listTargets } from '../catalogue/load.js';
import { deleteKeys } from '../redis/delete-keys.js';
import { planSchedulers, reconcileSchedulers } from '../../queues/scrape-schedulers.js';
import { scaleCatalogue } from './scale-catalogue.js';
import { round } from './stats.js';

export interface ReconcileScaleOptions {
  connection: Redis;
  /** A prefix of the bench's own; its keys are deleted after each scale. */
  prefix: string;
  catalogue: CatalogueFile;
  /** Catalogue copies to measure, e.g. [1, 10, 100]. */
  scales: number[];
  progress?: (line: string) => void;
}

export interface ReconcileAtScale {
  scale: number;
  targets: number;
  /** First reconcile: every scheduler created. */
  createMs: number;
  /** A second reconcile of the same plan (what every scheduler start and periodic check does). */
  recheckMs: number;
  /** Redis memory the schedulers and their first delayed jobs take, per scheduler (INFO used_memory before and after). */
  redisBytesPerScheduler: number;
}

async function usedMemory(connection: Redis): Promise<number> {
  const info = await connection.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
}

/** One poller's scheduler reconcile over the catalogue copied N times, at each scale: times and Redis bytes per scheduler. */
export async function measureReconcileScale(options: ReconcileScaleOptions): Promise<ReconcileAtScale[]> {
  const out: ReconcileAtScale[] = [];
  for (const scale of options.scales) {
    const targets = listTargets(scaleCatalogue(options.catalogue, scale));
    const prefix = `${options.prefix}-reconcile-${scale}x`;
    const plan = planSchedulers(targets, { pollerId: 'api1', intervalMs: 15 * 60_000, staggerMs: 0 });
    const reconcile = { connection: options.connection, prefix, pollerId: 'api1', policy: { attempts: 3, backoffMs: 30_000 } };
    try {
      const before = await usedMemory(options.connection);
      let t = performance.now();
      await reconcileSchedulers(plan, reconcile);
      const createMs = performance.now() - t;
      const after = await usedMemory(options.connection);
      t = performance.now();
      await reconcileSchedulers(plan, reconcile);
      const recheckMs = performance.now() - t;
      const r = { scale, targets: plan.length, createMs: round(createMs, 0), recheckMs: round(recheckMs, 0), redisBytesPerScheduler: round(Math.max(0, after - before) / plan.length, 0) };
      options.progress?.(`  reconcile at ${scale}x: ${r.targets} schedulers created in ${r.createMs} ms, checked again in ${r.recheckMs} ms, ${r.redisBytesPerScheduler} bytes of Redis each`);
      out.push(r);
    } finally {
      await deleteKeys(options.connection, `${prefix}:*`);
    }
  }
  return out;
}

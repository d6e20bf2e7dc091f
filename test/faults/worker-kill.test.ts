/**
 * Fault 1: worker processes SIGKILLed in the middle of their jobs. Two extra `poller worker` processes join api1
 * (as `docker compose --scale worker=3` would), the pages of the next due runs answer slowly so that jobs are
 * running, and both processes are killed (process group, SIGKILL). The jobs they held must run again on the worker
 * that is still up within 1.5 x WORKER_LOCK_MS, and every run keeps exactly one row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { scrapeQueueName } from '../../queues/names.js';
import {
  LOCK_MS,
  POLLERS,
  VENDORS,
  fromCount,
  killGroup,
  nextDue,
  readRows,
  recordResult,
  settleAndCount,
  startSystem,
  until,
  waitUntil,
  type Proc,
  type System,
} from './harness.js';

describe('fault: worker processes killed with SIGKILL mid-job', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ label: 'worker-kill' });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('the jobs they held run again within 1.5 x WORKER_LOCK_MS on the worker still up; no run lost or duplicated', async ({ task }) => {
    const from = sys.readyAt;
    const redis = sys.redisConnection('api1');
    const queues = VENDORS.map((v) => new Queue(scrapeQueueName(v), { connection: redis, prefix: 'bull' }));
    const held: Array<{ id: string; queue: Queue; killedAt: number }> = [];
    let killedAt = 0;
    try {
      // Until the extra workers held at least one job when they died (each due job goes to one of three processes).
      for (let round = 0; round < 3 && held.length === 0; round++) {
        const extra: Proc[] = [await sys.spawnWorker('api1'), await sys.spawnWorker('api1')];
        const { due, targets } = nextDue(sys, 'api1', Date.now(), 2000);
        // Slow pages: the due jobs are still running when the workers die.
        for (const t of targets) sys.fleet.setTarget(t.data.target.vendor, t.data.target.coin, { latencyMs: 8000 });
        await until(due + 1500);
        const active = (await Promise.all(queues.map(async (q) => (await q.getActive()).map((j) => ({ id: j.id!, queue: q }))))).flat();
        killedAt = Date.now();
        await Promise.all(extra.map(killGroup));
        for (const t of targets) sys.fleet.setTarget(t.data.target.vendor, t.data.target.coin, { latencyMs: null });
        // Every job running at the kill ends with its row; those of the dead workers ran twice (stalled once).
        await waitUntil(
          'a row for every job that was running at the kill',
          async () => {
            const keys = new Set((await readRows(sys)).map((r) => r.key));
            return active.every((j) => keys.has(`api1/${j.id}`));
          },
          25_000,
        );
        for (const j of active) {
          const job = await j.queue.getJob(j.id);
          if (job && job.stalledCounter > 0) held.push({ ...j, killedAt });
        }
      }
      expect(held.length, 'the extra workers held no job in three rounds').toBeGreaterThan(0);

      // Each job of a dead worker started again (processedOn is set on every activation) within 1.5 locks.
      const rerunMs: number[] = [];
      for (const h of held) {
        const job = (await h.queue.getJob(h.id))!;
        expect(job.finishedOn, `${h.id} finished`).toBeTruthy();
        expect(job.returnvalue).toMatchObject({ outcome: 'ok' });
        rerunMs.push(job.processedOn! - h.killedAt);
      }
      const rows = await readRows(sys);
      const rowAt = (id: string) => Date.parse(rows.find((r) => r.key === `api1/${id}`)!.scrapedAt);
      // Recovery: the kill to the last row of a held job in the database.
      const recovery = Math.max(...held.map((h) => rowAt(h.id) - h.killedAt)) / 1000;
      const bound = (1.5 * LOCK_MS + 1500) / 1000;

      const count = await settleAndCount(sys, { from, to: Math.max(killedAt + 15_000, Date.now()), pollers: POLLERS });
      recordResult(task, fromCount('SIGKILL 2 of 3 worker processes mid-job', count, recovery, bound, 'pass', `${held.length} jobs held by the killed workers; re-run ${Math.max(...rerunMs)} ms after the kill (lock ${LOCK_MS} ms)`));
      expect(count.missing).toEqual([]);
      expect(count.lost).toBe(0);
      expect(count.duplicated).toBe(0);
      for (const ms of rerunMs) expect(ms).toBeLessThanOrEqual(1.5 * LOCK_MS + 1500);
      expect(recovery).toBeLessThanOrEqual(bound);
      // The process that stayed up never noticed anything but the re-runs.
      expect(sys.hosts.api1.proc!.alive()).toBe(true);
    } finally {
      await Promise.all(queues.map((q) => q.close()));
      redis.disconnect();
    }
  });
});

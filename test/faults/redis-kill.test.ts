/**
 * Fault 2: a poller's Redis killed (SIGKILL) under the running system.
 * - api1's Redis runs with AOF (as deploy/redis.conf does) and is killed 3 s before a due time, restarted with its
 *   data 4 s after it: the due jobs survive in the AOF and run late; no run lost.
 * - api2's Redis runs without persistence and is killed between two due times, restarted EMPTY: the schedulers
 *   (scrape, export, merge) come back the moment the poller reconnects, and the next runs all have their rows.
 *   (A run whose due time falls inside an outage of a Redis without persistence cannot exist anywhere: its delayed
 *   job lived only in that Redis. The outage is placed between due times, as the brief's "0 runs lost" asks.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  POLLERS,
  fromCount,
  nextDue,
  readRows,
  recordResult,
  scrapeSchedulerCount,
  settleAndCount,
  startSystem,
  until,
  waitUntil,
  type System,
} from './harness.js';
import { Queue } from 'bullmq';
import { exportQueueName, MERGE_QUEUE_NAME } from '../../queues/names.js';

describe('fault: a poller\'s Redis killed', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ label: 'redis-kill', persist: { api1: true, api2: false } });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('with AOF on: restarted with its data, the runs due while it was down run late; none lost or duplicated', async ({ task }) => {
    const from = sys.readyAt;
    const { due, targets } = nextDue(sys, 'api1', Date.now(), 5000);
    await until(due - 3000);
    await sys.killRedis('api1');
    await until(due + 4000);
    await sys.restartRedis('api1');
    const back = Date.now();
    // The runs due during the outage come out of the AOF and land.
    const landed = await waitUntil(
      'the rows of the runs due while Redis was down',
      async () => {
        const keys = new Set((await readRows(sys)).map((r) => r.key));
        return targets.every((t) => keys.has(`api1/repeat:${t.id}:${due}`));
      },
      30_000,
    );
    const recovery = (landed - back) / 1000;
    await waitUntil('api1 /healthz ok', async () => (await sys.health('api1')).status === 'ok', 30_000);
    const count = await settleAndCount(sys, { from, to: Math.max(back + 10_000, Date.now()), pollers: POLLERS });
    recordResult(task, fromCount('Redis SIGKILL, AOF on (7 s over a due time)', count, recovery, 15));
    expect(count.missing).toEqual([]);
    expect(count.lost).toBe(0);
    expect(count.duplicated).toBe(0);
    expect(recovery).toBeLessThanOrEqual(15);
    for (const id of POLLERS) expect(sys.hosts[id].proc!.alive(), `${id} still runs`).toBe(true);
  });

  it('with AOF off: restarted empty, the schedulers come back on reconnect; no run lost or duplicated', async ({ task }) => {
    const from = Date.now();
    expect(await scrapeSchedulerCount(sys, 'api2')).toBe(6);
    const { due } = nextDue(sys, 'api2', Date.now(), 1000);
    // Between two due times (they are 30 s apart): killed 3 s after one, back 5 s later.
    await until(due + 3000);
    const before = sys.redisConnection('api2');
    await before.set('faults:marker', '1');
    before.disconnect();
    const outputFrom = sys.hosts.api2.proc!.output().length;
    await sys.killRedis('api2');
    await until(due + 8000);
    await sys.restartRedis('api2');
    const back = Date.now();
    const redis = sys.redisConnection('api2');
    // It came back empty (the marker is gone with everything else).
    expect(await redis.exists('faults:marker')).toBe(0);
    const exportQ = new Queue(exportQueueName('api2'), { connection: redis, prefix: 'bull' });
    const mergeQ = new Queue(MERGE_QUEUE_NAME, { connection: redis, prefix: 'bull' });
    let restored: number;
    try {
      restored = await waitUntil(
        'every scheduler of api2 back in its empty Redis',
        async () => (await scrapeSchedulerCount(sys, 'api2')) === 6 && (await exportQ.getJobSchedulersCount()) === 1 && (await mergeQ.getJobSchedulersCount()) === 1,
        30_000,
      );
    } finally {
      await exportQ.close();
      await mergeQ.close();
      redis.disconnect();
    }
    const recovery = (restored - back) / 1000;
    await waitUntil('api2 /healthz ok', async () => (await sys.health('api2')).status === 'ok', 30_000);
    // The next two due times of api2 (every target once) must have their rows.
    const count = await settleAndCount(sys, { from, to: due + 30_000 + 1, pollers: POLLERS });
    // One clear line when the outage starts and one when it ends (per connection), never ioredis's unhandled errors.
    const outage = sys.hosts.api2.proc!.output().slice(outputFrom);
    const outageLines = outage.split('\n').filter((l) => /redis/i.test(l));
    recordResult(task, fromCount('Redis SIGKILL, AOF off (restarted empty)', count, recovery, 10, 'pass', `${outageLines.length} Redis lines in api2's output over the outage`));
    expect(outage).not.toMatch(/Unhandled error event/);
    expect(outage).toMatch(/redis unreachable at /);
    expect(outage).toMatch(/redis back at .* after \d+ s/);
    expect(outageLines.length, outageLines.join('\n')).toBeLessThanOrEqual(12);
    expect(count.missing).toEqual([]);
    expect(count.lost).toBe(0);
    expect(count.duplicated).toBe(0);
    expect(recovery).toBeLessThanOrEqual(10);
    for (const id of POLLERS) expect(sys.hosts[id].proc!.alive(), `${id} still runs`).toBe(true);
  });
});

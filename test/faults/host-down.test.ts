/**
 * Fault 5: a poller host down. api3's process group is SIGKILLed with its Redis (the host lost power) for 30 s while
 * api1 and api2 keep main fresh: the newest price on main never gets older than the two remaining pollers' cadence
 * allows. Then the host comes back (Redis on its AOF, `poller start`): the job it was running runs again, its
 * overdue runs run late, and its rows and branch flow again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  POLLERS,
  fromCount,
  headOf,
  manifestAt,
  newestPriceAge,
  readRows,
  recordResult,
  settleAndCount,
  sleep,
  startSystem,
  waitUntil,
  type System,
} from './harness.js';

/** api1 runs at :00 and :30 of each minute, api2 at :20 and :50: at most 20 s between two of their runs. */
const MAIN_AGE_BOUND_S = 40;

describe('fault: a poller host down', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ label: 'host-down' });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('api3 killed (process group and Redis) for 30 s: main stays fresh from api1 and api2; api3 recovers when back', async ({ task }) => {
    const from = sys.readyAt;
    await waitUntil('main published with every poller', () => (manifestAt(sys, 'main') !== null && headOf(sys, 'api3') !== null), 60_000);
    const downAt = Date.now();
    await sys.killHost('api3');
    expect(sys.hosts.api3.proc!.alive()).toBe(false);
    let worstAge = 0;
    const mainHeads = new Set<string>();
    while (Date.now() < downAt + 30_000) {
      worstAge = Math.max(worstAge, newestPriceAge(sys) ?? Infinity);
      mainHeads.add(headOf(sys, 'main')!);
      await sleep(1000);
    }
    await sys.restartRedis('api3');
    await sys.startPoller('api3');
    const back = Date.now();
    // Healthy again: a new api3 row, exported to its branch, and /healthz ok.
    const recovered = await waitUntil(
      "api3's rows flowing and published again",
      async () => {
        const newest = (await readRows(sys)).filter((r) => r.poller === 'api3' && Date.parse(r.scrapedAt) > back).map((r) => r.scrapedAt).sort().at(-1);
        return !!newest && (manifestAt(sys, 'api3')?.generated_at ?? '') >= newest && (await sys.health('api3')).status === 'ok';
      },
      60_000,
      500,
    );
    const recovery = (recovered - back) / 1000;
    // api3's runs due while its host was down are not expected (a host down thins the cadence); all others are.
    const count = await settleAndCount(sys, { from, to: Math.max(back + 30_000, Date.now()), pollers: POLLERS, exclude: [{ poller: 'api3', from: downAt, to: back, why: 'host down' }] });
    recordResult(task, fromCount('poller host down 30 s (api3 group + Redis)', count, recovery, 45, 'pass', `newest price on main at most ${worstAge.toFixed(1)} s old while api3 was down (bound ${MAIN_AGE_BOUND_S} s); main moved ${mainHeads.size - 1} times`));
    expect(count.missing).toEqual([]);
    expect(count.lost).toBe(0);
    expect(count.duplicated).toBe(0);
    expect(worstAge).toBeLessThanOrEqual(MAIN_AGE_BOUND_S);
    expect(mainHeads.size).toBeGreaterThanOrEqual(2);
    expect(recovery).toBeLessThanOrEqual(45);
  });
});

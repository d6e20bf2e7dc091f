import { beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { formatUsd, startFleet, type FleetChaos, type FleetHandle, type FleetOptions } from '../src/fleet/index.js';

let catalogue: Catalogue;

beforeAll(async () => {
  catalogue = await loadCatalogue('config/providers.json');
});

/** Each test gets its own fleet, closed even when the test fails. */
async function withFleet(options: Omit<FleetOptions, 'catalogue'>, fn: (fleet: FleetHandle) => Promise<void>): Promise<void> {
  const fleet = await startFleet({ catalogue: catalogue.file, ...options });
  try {
    await fn(fleet);
  } finally {
    await fleet.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds (hung requests give no response to await). */
async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Status of one request, or 'hang' when no answer came within `hangMs`. */
async function statusOf(url: string, hangMs = 1_000): Promise<number | 'hang'> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(hangMs) });
    await res.text();
    return res.status;
  } catch (err) {
    if ((err as Error).name === 'TimeoutError') return 'hang';
    throw err;
  }
}

async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

const count = <T>(xs: T[], x: T) => xs.filter((y) => y === x).length;

describe('bot walls', () => {
  it('share 1 answers every page of the vendor with a 403 challenge, and no other vendor', async () => {
    await withFleet({ seed: 3, chaos: { walls: { apmex: 1 } } }, async (fleet) => {
      const all = fleet.targets();
      const apmex = all.filter((t) => t.vendor === 'apmex');
      expect(apmex.length).toBeGreaterThan(10);
      for (const t of apmex) {
        const res = await fetch(t.url);
        const html = await res.text();
        expect(res.status, t.coin).toBe(403);
        expect(res.headers.get('cf-mitigated'), t.coin).toBe('challenge');
        expect(html, t.coin).toContain('<title>Just a moment...</title>');
        expect(html, t.coin).not.toContain(formatUsd(fleet.truth('apmex', t.coin).price));
      }
      // Not only catalogue pages: anything under the vendor's site.
      expect((await fetch(`${fleet.url}/apmex/no/such/page`)).status).toBe(403);

      const others = all.filter((t) => t.vendor !== 'apmex');
      await eachLimited(others, 8, async (t) => {
        const res = await fetch(t.url);
        await res.text();
        expect(res.status, `${t.coin}:${t.vendor}`).toBe(200);
        expect(res.headers.get('cf-mitigated')).toBeNull();
      });
      const stats = fleet.stats();
      expect(stats.faultsByVendor).toEqual({ apmex: { wall: apmex.length + 1 } });
    });
  });

  it('lets patched faults win, and leaves truth() alone', async () => {
    const plain = await startFleet({ catalogue: catalogue.file, seed: 3 });
    try {
      await withFleet({ seed: 3, chaos: { walls: { apmex: 1 }, rates: { '500': 1 } } }, async (fleet) => {
        for (const t of fleet.targets()) expect(fleet.truth(t.vendor, t.coin)).toEqual(plain.truth(t.vendor, t.coin));
        fleet.setTarget('apmex', 'ase', { fault: '404', faultTimes: 1 });
        expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(404);
        expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(403); // the patch is used up: the wall again
        expect(await statusOf(fleet.urlFor('jmbullion', 'ase'))).toBe(500); // walls are judged before rates
        expect(fleet.stats().faultsByVendor).toEqual({ apmex: { '404': 1, wall: 1 }, jmbullion: { '500': 1 } });
      });
    } finally {
      await plain.close();
    }
  });
});

describe('rates', () => {
  const rates = { '429': 0.1, '500': 0.15, hang: 0.05 };

  it('draws 429, 500 and hangs near the configured probabilities, the same counts for a fixed seed', async () => {
    await withFleet({ chaos: { rates, seed: 42 } }, async (fleet) => {
      const n = 400;
      const url = fleet.urlFor('sdbullion', 'ase');
      const seen: Array<number | 'hang'> = [];
      const retryAfter = new Set<string | null>();
      // A hang is told from a page by a timeout far above a page's few milliseconds.
      await eachLimited(Array.from({ length: n }, (_, i) => i), 20, async () => {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
          await res.text();
          if (res.status === 429) retryAfter.add(res.headers.get('retry-after'));
          seen.push(res.status);
        } catch (err) {
          if ((err as Error).name !== 'TimeoutError') throw err;
          seen.push('hang');
        }
      });
      const got = { '200': count(seen, 200), '429': count(seen, 429), '500': count(seen, 500), hang: count(seen, 'hang') };
      // Pinned for seed 42: the draws are deterministic, so any change here is a change in the draw.
      expect(got).toEqual({ '200': 299, '429': 37, '500': 48, hang: 16 });
      // Whatever the seed: within about 3.5 standard deviations of n x p.
      expect(got['429']).toBeGreaterThanOrEqual(20);
      expect(got['429']).toBeLessThanOrEqual(60);
      expect(got['500']).toBeGreaterThanOrEqual(35);
      expect(got['500']).toBeLessThanOrEqual(85);
      expect(got.hang).toBeGreaterThanOrEqual(5);
      expect(got.hang).toBeLessThanOrEqual(35);
      expect(retryAfter).toEqual(new Set(['2']));

      const stats = fleet.stats();
      expect(stats.byVendor).toEqual({ sdbullion: n });
      expect(stats.faultsByVendor).toEqual({ sdbullion: { '429': got['429'], '500': got['500'], hang: got.hang } });
      expect(stats.retryAfterMsByVendor).toEqual({ sdbullion: 2_000 * got['429'] });
    });
  });

  it('gives the same sequence per vendor for the same seed, another for another seed', async () => {
    const chaos = (seed?: number): FleetChaos => ({ rates: { '429': 0.3, '500': 0.3 }, ...(seed === undefined ? {} : { seed }) });
    const sequence = async (fleet: FleetHandle, interleave = false) => {
      const out: Array<number | 'hang'> = [];
      for (let i = 0; i < 60; i++) {
        out.push(await statusOf(fleet.urlFor('apmex', 'ase')));
        if (interleave) await statusOf(fleet.urlFor('jmbullion', 'age')); // another vendor's draws are its own
      }
      return out;
    };
    const a = await startFleet({ catalogue: catalogue.file, seed: 1, chaos: chaos(9) });
    const b = await startFleet({ catalogue: catalogue.file, seed: 2, chaos: chaos(9) });
    const c = await startFleet({ catalogue: catalogue.file, seed: 1, chaos: chaos(10) });
    const d = await startFleet({ catalogue: catalogue.file, seed: 9, chaos: chaos() });
    try {
      const first = await sequence(a);
      expect(new Set(first)).toEqual(new Set([200, 429, 500]));
      expect(await sequence(b, true)).toEqual(first);
      expect(await sequence(c)).not.toEqual(first);
      expect(await sequence(d)).toEqual(first); // the seed defaults to the fleet's
      a.setChaos(chaos(9)); // setting chaos restarts the draws
      expect(await sequence(a)).toEqual(first);
    } finally {
      await Promise.all([a.close(), b.close(), c.close(), d.close()]);
    }
  });
});

describe('hangs', () => {
  it('hold the request until the client aborts, and servedMsByVendor counts that time', async () => {
    await withFleet({ chaos: { rates: { hang: 1 } } }, async (fleet) => {
      const abort = new AbortController();
      const pending = fetch(fleet.urlFor('gainesvillecoins', 'ase'), { signal: abort.signal }).then(
        () => 'answered',
        (err: Error) => err.name,
      );
      await until(() => fleet.stats().byVendor.gainesvillecoins === 1, 'the request to arrive');
      const heldMs = 400;
      await sleep(heldMs);
      expect(fleet.stats().servedMsByVendor.gainesvillecoins).toBeGreaterThanOrEqual(heldMs); // counted while open
      abort.abort();
      expect(await pending).toBe('AbortError');

      // Once the client has gone, the count stops growing.
      let last = -1;
      await until(() => {
        const now = fleet.stats().servedMsByVendor.gainesvillecoins;
        const still = now === last;
        last = now;
        return still;
      }, 'the served time to settle');
      await sleep(200);
      expect(fleet.stats().servedMsByVendor.gainesvillecoins).toBe(last);
      expect(last).toBeGreaterThanOrEqual(heldMs);
      expect(last).toBeLessThan(heldMs + 1_000);
      expect(fleet.stats().faultsByVendor).toEqual({ gainesvillecoins: { hang: 1 } });
    });
  });

  it('do not hold up close(): it returns within a second and the clients fail', async () => {
    const fleet = await startFleet({ catalogue: catalogue.file, chaos: { rates: { hang: 1 } } });
    try {
      const pending = ['apmex', 'jmbullion', 'sdbullion'].map((v) =>
        fetch(fleet.urlFor(v, 'ase')).then(
          () => 'answered',
          () => 'failed',
        ),
      );
      await until(() => fleet.stats().requests === 3, 'three requests to arrive');
      await sleep(100);
      const closing = Date.now();
      await fleet.close();
      expect(Date.now() - closing).toBeLessThan(1_000);
      expect(await Promise.all(pending)).toEqual(['failed', 'failed', 'failed']);
      const served = fleet.stats().servedMsByVendor;
      expect(Object.keys(served).sort()).toEqual(['apmex', 'jmbullion', 'sdbullion']);
      for (const ms of Object.values(served)) expect(ms).toBeGreaterThanOrEqual(100);
    } finally {
      await fleet.close();
    }
  });
});

describe('timing statistics', () => {
  it('rateLimitWaits records the wait after each 429 until the vendor is asked again', async () => {
    await withFleet({ chaos: { rates: { '429': 1 } } }, async (fleet) => {
      expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(429);
      fleet.setChaos(null);
      await sleep(300);
      expect(await statusOf(fleet.urlFor('jmbullion', 'ase'))).toBe(200); // another vendor: not the wait asked of apmex
      await sleep(200);
      expect(await statusOf(fleet.urlFor('apmex', 'age'))).toBe(200);
      let stats = fleet.stats();
      expect(stats.rateLimitWaits).toHaveLength(1);
      expect(stats.rateLimitWaits[0]).toMatchObject({ vendor: 'apmex', askedMs: 2_000 });
      expect(stats.rateLimitWaits[0].waitedMs).toBeGreaterThanOrEqual(495);
      expect(stats.rateLimitWaits[0].waitedMs).toBeLessThan(1_500);
      expect(stats.retryAfterMsByVendor).toEqual({ apmex: 2_000 });

      // A patched 429 counts the same way.
      fleet.setTarget('apmex', 'ase', { fault: '429', faultTimes: 1 });
      expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(429);
      await sleep(50);
      expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(200);
      stats = fleet.stats();
      expect(stats.rateLimitWaits).toHaveLength(2);
      expect(stats.rateLimitWaits[1].waitedMs).toBeGreaterThanOrEqual(45);
      expect(stats.retryAfterMsByVendor).toEqual({ apmex: 4_000 });
      expect(stats.faultsByVendor).toEqual({ apmex: { '429': 2 } });
    });
  });

  it('servedMsByVendor covers the latency of every request', async () => {
    await withFleet({ latencyMs: [150, 150] }, async (fleet) => {
      for (const coin of ['ase', 'age', 'ase']) expect(await statusOf(fleet.urlFor('summitmetals', coin))).toBe(200);
      const stats = fleet.stats();
      expect(stats.latencyMsByVendor).toEqual({ summitmetals: 450 });
      expect(stats.servedMsByVendor.summitmetals).toBeGreaterThanOrEqual(450);
      expect(stats.servedMsByVendor.summitmetals).toBeLessThan(450 + 1_000);
    });
  });

  it('reset() brings chaos back to the start option; reset({stats}) clears the new statistics', async () => {
    await withFleet({ chaos: { walls: { apmex: 1 } } }, async (fleet) => {
      fleet.setChaos({ walls: { jmbullion: 1 }, rates: { '429': 1 } });
      expect(await statusOf(fleet.urlFor('jmbullion', 'ase'))).toBe(403);
      expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(429);
      expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(429);
      expect(fleet.stats().rateLimitWaits).toHaveLength(1);

      fleet.reset();
      expect(await statusOf(fleet.urlFor('jmbullion', 'ase'))).toBe(200);
      expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(403);
      expect(fleet.stats().faultsByVendor.apmex).toEqual({ '429': 2, wall: 1 });

      fleet.reset({ stats: true });
      expect(fleet.stats()).toEqual({
        requests: 0, byVendor: {}, latencyMsByVendor: {}, servedMsByVendor: {}, retryAfterMsByVendor: {}, rateLimitWaits: [], faultsByVendor: {},
      });
      expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(403);
      expect(fleet.stats().rateLimitWaits).toEqual([]); // the 429s before the reset wait for nothing after it
    });
  });
});

describe('chaos input', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ rates: { '429': 1.5 } }, /rates\.429: expected a probability in \[0, 1\]/],
    [{ rates: { hang: -0.1 } }, /rates\.hang: expected a probability/],
    [{ rates: { '429': 0.6, '500': 0.6 } }, /rates: expected probabilities that sum to at most 1/],
    [{ rates: { timeout: 0.1 } }, /timeout/],
    [{ walls: { nobody: 1 } }, /walls\.nobody: unknown vendor/],
    [{ walls: { apmex: 2 } }, /walls\.apmex: expected a probability/],
    [{ seed: 'x' }, /seed/],
    [{ rate: { '429': 0.1 } }, /"rate"/],
  ];

  it('is refused by setChaos, the admin endpoint and startFleet, naming the field', async () => {
    await withFleet({}, async (fleet) => {
      fleet.setChaos({ walls: { apmex: 1 } });
      for (const [input, message] of bad) expect(() => fleet.setChaos(input as FleetChaos), JSON.stringify(input)).toThrow(message);
      expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(403); // a refused chaos leaves the current one

      const post = (body: unknown) => fetch(`${fleet.url}/_fleet/chaos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      for (const [input, message] of bad) {
        const res = await post(input);
        expect(res.status, JSON.stringify(input)).toBe(400);
        expect((await res.json()).error, JSON.stringify(input)).toMatch(message);
      }
      expect((await fetch(`${fleet.url}/_fleet/chaos`)).status).toBe(405);

      let res = await post({ walls: { jmbullion: 1 } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true, chaos: { walls: { jmbullion: 1 } } });
      expect(await statusOf(fleet.urlFor('jmbullion', 'ase'))).toBe(403);
      expect(await statusOf(fleet.urlFor('apmex', 'ase'))).toBe(200);
      expect((await (await fetch(`${fleet.url}/_fleet/health`)).json()).chaos).toEqual({ walls: { jmbullion: 1 } });
      res = await post({});
      expect(res.status).toBe(200);
      expect(await statusOf(fleet.urlFor('jmbullion', 'ase'))).toBe(200);
    });
    await expect(startFleet({ catalogue: catalogue.file, chaos: { rates: { hang: 3 } } })).rejects.toThrow(/bad chaos option: rates\.hang/);
  });
});

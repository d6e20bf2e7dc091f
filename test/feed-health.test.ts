import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { FEED_STALE_AFTER_MINUTES, parseFeedTime, readFeedHealth, type FeedAge } from '../src/api/feed-health.js';
import { tempDir } from './support/temp.js';

/** The real March 2026 files (the contract's samples, kept in the project). */
const CONTRACT_DATA = resolve('test/fixtures/contract/StakTrakrApi/data');

const spot = (timestamp: string, metal = 'Silver') => ({ spot: 80.6, metal, source: 'hourly', provider: 'StakTrakr', timestamp });

async function put(root: string, files: Record<string, unknown>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
}

const byFeed = (feeds: FeedAge[]) => Object.fromEntries(feeds.map((f) => [f.feed, f]));

describe('readFeedHealth', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let root: string;
  beforeAll(async () => {
    tmp = await tempDir('feed-health');
    root = join(tmp.path, 'data');
    await put(root, {
      'api/manifest.json': { generated_at: '2026-01-05T10:00:00.000Z', coins: ['ase'] },
      'api/goldback-spot.json': { g1_usd: 10.06, scraped_at: '2026-01-05T00:01:01.596Z' },
      // Newest hour is in the newest year; an older year and day exist; the last element is the newest.
      'hourly/2025/12/31/23.json': [spot('2025-12-31 23:45:00')],
      'hourly/2026/01/05/09.json': [spot('2026-01-05 09:45:00')],
      'hourly/2026/01/05/10.json': [spot('2026-01-05 10:00:00', 'Gold'), spot('2026-01-05 10:05:00')],
      '15min/2026/01/05/0945.json': [spot('2026-01-05 09:45:00')],
      '15min/2026/01/05/1000.json': [spot('2026-01-05 10:00:00')],
      'spot-history-2025.json': [spot('2025-12-31 12:00:00', 'Gold')],
      'spot-history-2026.json': [spot('2026-01-02 12:00:00', 'Gold'), spot('2026-01-02 12:00:00', 'Silver')],
    });
    // A newer day folder with no hour file yet, and stray names, must not hide the newest file.
    await mkdir(join(root, 'hourly', '2026', '01', '06'), { recursive: true });
    await put(root, { 'hourly/2026/01/05/notes.txt': 'x', 'hourly/2026/13x/01/01.json': [spot('2099-01-01 00:00:00')] });
  });
  afterAll(() => tmp.remove());

  it('reads every feed as the frontend does and finds them fresh shortly after', async () => {
    const health = await readFeedHealth(root, Date.parse('2026-01-05T10:15:30Z'));
    const f = byFeed(health.feeds);
    expect(health.ok).toBe(true);
    expect(f.manifest).toMatchObject({ path: 'api/manifest.json', at: '2026-01-05T10:00:00.000Z', ageMinutes: 15, staleAfterMinutes: 30, ok: true });
    expect(f.hourly).toMatchObject({ path: 'hourly/2026/01/05/10.json', at: '2026-01-05T10:05:00.000Z', ageMinutes: 10, staleAfterMinutes: 20, ok: true });
    expect(f['15min']).toMatchObject({ path: '15min/2026/01/05/1000.json', at: '2026-01-05T10:00:00.000Z', ageMinutes: 15, ok: true });
    expect(f['daily-seed']).toMatchObject({ path: 'spot-history-2026.json', at: '2026-01-02T12:00:00.000Z', staleAfterMinutes: 4 * 24 * 60, ok: true });
    expect(f.goldback).toMatchObject({ path: 'api/goldback-spot.json', ageMinutes: 614, staleAfterMinutes: 1500, ok: true });
    for (const feed of health.feeds) expect(feed.problem).toBeUndefined();
  });

  it('marks each feed stale past its threshold, and not a minute before', async () => {
    const atLimit = byFeed((await readFeedHealth(root, Date.parse('2026-01-05T10:30:59Z'))).feeds);
    expect(atLimit.manifest).toMatchObject({ ageMinutes: 30, ok: true });
    const late = await readFeedHealth(root, new Date('2026-01-05T10:31:00Z'));
    const f = byFeed(late.feeds);
    expect(late.ok).toBe(false);
    expect(f.manifest).toMatchObject({ ageMinutes: 31, ok: false, problem: 'stale' });
    expect(f.hourly).toMatchObject({ ageMinutes: 26, ok: false, problem: 'stale' });
    expect(f['15min']).toMatchObject({ ok: false, problem: 'stale' });
    expect(f.goldback.ok).toBe(true);
    expect(f['daily-seed'].ok).toBe(true);
    // A weekend without seeds is fine; the seed feed goes stale after 4 days, goldback after 25 h.
    const days = byFeed((await readFeedHealth(root, Date.parse('2026-01-06T12:00:00Z'))).feeds);
    expect(days.goldback).toMatchObject({ ok: false, problem: 'stale' });
    expect(days['daily-seed'].ok).toBe(true);
    // The newest seed is Friday 2 January 12:00: still fine at Tuesday 12:00:59, stale from 12:01.
    expect(byFeed((await readFeedHealth(root, Date.parse('2026-01-06T12:00:59Z'))).feeds)['daily-seed']).toMatchObject({ ageMinutes: 5760, ok: true });
    expect(byFeed((await readFeedHealth(root, Date.parse('2026-01-06T12:01:00Z'))).feeds)['daily-seed']).toMatchObject({ ok: false, problem: 'stale' });
  });

  it('takes overridden thresholds', async () => {
    const health = await readFeedHealth(root, Date.parse('2026-01-05T10:31:00Z'), { staleAfterMinutes: { manifest: 60, hourly: 60, '15min': 60 } });
    expect(health.ok).toBe(true);
    expect(byFeed(health.feeds).manifest.staleAfterMinutes).toBe(60);
    expect(FEED_STALE_AFTER_MINUTES.manifest).toBe(30);
  });

  it('reports a feed with no file as missing, and a tree that is not there as all missing', async () => {
    const bare = join(tmp.path, 'only-manifest');
    await put(bare, { 'api/manifest.json': { generated_at: '2026-01-05T10:00:00Z' }, 'hourly/2026/01/05/.keep': '' });
    const health = await readFeedHealth(bare, Date.parse('2026-01-05T10:01:00Z'));
    const f = byFeed(health.feeds);
    expect(health.ok).toBe(false);
    expect(f.manifest.ok).toBe(true);
    for (const feed of ['hourly', '15min', 'daily-seed', 'goldback']) expect(f[feed]).toMatchObject({ path: null, at: null, ageMinutes: null, ok: false, problem: 'missing' });
    for (const r of [join(tmp.path, 'nothing-here'), null]) {
      const none = await readFeedHealth(r, Date.now());
      expect(none.ok).toBe(false);
      expect(none.feeds.map((x) => x.problem)).toEqual(['missing', 'missing', 'missing', 'missing', 'missing']);
    }
  });

  it('says what is wrong with a file it cannot read a time from', async () => {
    const bad = join(tmp.path, 'bad');
    await put(bad, {
      'api/manifest.json': '{ not json',
      'api/goldback-spot.json': { g1_usd: 1 },
      'hourly/2026/01/05/10.json': [],
      '15min/2026/01/05/1000.json': [spot('yesterday')],
      'spot-history-2026.json': { not: 'an array' },
    });
    const f = byFeed((await readFeedHealth(bad, Date.parse('2026-01-05T10:01:00Z'))).feeds);
    expect(f.manifest).toMatchObject({ ok: false, problem: 'unreadable: not valid JSON', path: 'api/manifest.json' });
    expect(f.goldback).toMatchObject({ ok: false, problem: 'no scraped_at field' });
    expect(f.hourly).toMatchObject({ ok: false, problem: 'no entries' });
    expect(f['15min']).toMatchObject({ ok: false, problem: 'invalid timestamp "yesterday"' });
    expect(f['daily-seed']).toMatchObject({ ok: false, problem: 'not an array' });
  });

  it('does not follow a link planted as a feed file', async () => {
    const linked = join(tmp.path, 'linked');
    await put(tmp.path, { 'elsewhere.json': { generated_at: '2026-01-05T10:00:00Z' } });
    await mkdir(join(linked, 'api'), { recursive: true });
    await symlink(join(tmp.path, 'elsewhere.json'), join(linked, 'api', 'manifest.json'));
    const f = byFeed((await readFeedHealth(linked, Date.parse('2026-01-05T10:01:00Z'))).feeds);
    expect(f.manifest.ok).toBe(false);
    expect(f.manifest.problem).toMatch(/^unreadable/);
  });

  it('reads the real March 2026 files', async () => {
    const f = byFeed((await readFeedHealth(CONTRACT_DATA, Date.parse('2026-03-15T20:35:00Z'))).feeds);
    expect(f.manifest).toMatchObject({ at: '2026-03-15T20:23:02.057Z', ageMinutes: 11, ok: true });
    expect(f.hourly).toMatchObject({ path: 'hourly/2026/03/14/15.json', at: '2026-03-14T15:45:00.000Z', ok: false, problem: 'stale' });
    expect(f['15min'].path).toBe('15min/2026/03/14/1545.json');
    expect(f.goldback).toMatchObject({ at: '2026-03-15T00:01:01.596Z', ok: true });
    expect(f['daily-seed'].path).toBe('spot-history-2026.json');
    expect(f['daily-seed'].at).not.toBeNull();
  });

  it('parses feed times like the frontend', () => {
    expect(parseFeedTime('2026-02-22 12:00:00')).toBe(Date.parse('2026-02-22T12:00:00Z'));
    expect(parseFeedTime('2026-02-22T12:00:00Z')).toBe(Date.parse('2026-02-22T12:00:00Z'));
    expect(parseFeedTime('2026-02-22T14:00:00+02:00')).toBe(Date.parse('2026-02-22T12:00:00Z'));
    expect(parseFeedTime('12:00')).toBeNull();
    expect(parseFeedTime('2026-02-22 99:00:00')).toBeNull();
  });
});

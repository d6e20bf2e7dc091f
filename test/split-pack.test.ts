/**
 * Pushed packs built by path groups (src/publish/split-pack.ts): git's thin pack gives each file its previous
 * version as a base only for the first of the paths whose last 16 characters agree; the split pack gives it to all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSplitThinPack, concatenatePacks, groupByNameHash, packNameHash } from '../src/publish/split-pack.js';
import { publishTree } from '../src/publish/publish-tree.js';
import { ensureLocalRemote } from '../src/publish/local-remote.js';
import { tempDir } from './support/temp.js';

const git = (dir: string, args: string[], input?: string | Buffer) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, input, maxBuffer: 1 << 30, env: { ...process.env, GIT_DIR: join(dir, '.git') } });

/** A coin's latest.json-like file: its last `windows` windows up to window `last`; the next export drops one and adds one. */
function coinFile(coin: number, windows: number, last: number): string {
  const rows = [];
  for (let w = last - windows + 1; w <= last; w++) {
    const vendors: Record<string, number> = {};
    for (let v = 0; v < 8; v++) vendors[`vendor${v}`] = Math.round((30 + coin * 3.7 + v * 0.41 + Math.sin(w * 7.3 + v + coin) * 2) * 100) / 100;
    rows.push({ window: new Date(Date.UTC(2026, 11, 1) + w * 900_000).toISOString(), vendors });
  }
  return JSON.stringify({ coin, windows_24h: rows }, null, 2) + '\n';
}

describe('split thin packs', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let repo: string;
  let old: string;
  let next: string;
  // 40 coins whose paths end alike (`...-silver/latest.json`): one name hash for all of them.
  const slugs = Array.from({ length: 40 }, (_, i) => `coin${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}-silver`);
  const writeCoins = (seed: number) => {
    slugs.forEach((slug, i) => {
      mkdirSync(join(repo, 'data', 'api', slug), { recursive: true });
      writeFileSync(join(repo, 'data', 'api', slug, 'latest.json'), coinFile(i, 96, 200 + seed));
    });
  };
  beforeAll(async () => {
    dir = await tempDir('split-pack');
    repo = join(dir.path, 'work');
    mkdirSync(repo);
    git(repo, ['init', '-q', '.']);
    writeCoins(0);
    git(repo, ['add', '-A']);
    git(repo, ['commit', '-qm', 'old']);
    old = git(repo, ['rev-parse', 'HEAD']).toString().trim();
    writeCoins(1);
    git(repo, ['commit', '-qam', 'next']);
    next = git(repo, ['rev-parse', 'HEAD']).toString().trim();
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('hashes names as git does: only the last 16 characters count', () => {
    expect(packNameHash('api/maple-silver/latest.json')).toBe(packNameHash('api/koala-silver/latest.json'));
    expect(packNameHash('api/maple-silver/latest.json')).not.toBe(packNameHash('api/maple-gold/latest.json'));
    expect(packNameHash('a b')).toBe(packNameHash('ab')); // whitespace is skipped
  });

  it('groups objects so that no two names in a group share a hash, keeping every object once', () => {
    const lines = ['c0ffee', ...slugs.map((s, i) => `${String(i).padStart(40, '0')} data/api/${s}/latest.json`), `${'f'.repeat(40)} data/api/ase/latest.json`];
    const groups = groupByNameHash(lines);
    expect(groups.flat().sort()).toEqual([...lines].sort());
    expect(groups.length).toBe(slugs.length);
    for (const g of groups) {
      const hashes = g.filter((l) => l.includes(' ')).map((l) => packNameHash(l.slice(l.indexOf(' ') + 1)));
      expect(new Set(hashes).size).toBe(hashes.length);
    }
    expect(groups[0]).toContain('c0ffee');
  });

  it('refuses what is not a pack', () => {
    expect(() => concatenatePacks([Buffer.from('not a pack, not at all, really')])).toThrow(/version 2 pack/);
  });

  it('makes a thin pack a receiver with the old commit completes, several times smaller than git makes it', async () => {
    const revs = `${next}\n^${old}\n`;
    const split = await buildSplitThinPack('git', revs, { cwd: repo });
    const plain = git(repo, ['pack-objects', '--revs', '--thin', '--stdout', '-q', '--delta-base-offset'], revs);
    // A receiver that has `old` only: index-pack --fix-thin (as receive-pack runs it) takes the pack and `next` is whole.
    const receiver = join(dir.path, 'receiver.git');
    execFileSync('git', ['init', '-q', '--bare', receiver]);
    execFileSync('git', ['--git-dir', receiver, 'fetch', '-q', repo, `${old}:refs/heads/main`]);
    execFileSync('git', ['--git-dir', receiver, 'index-pack', '--stdin', '--fix-thin'], { input: split, cwd: receiver });
    execFileSync('git', ['--git-dir', receiver, 'update-ref', 'refs/heads/main', next]);
    execFileSync('git', ['--git-dir', receiver, 'fsck', '--strict', '--no-dangling']);
    for (const slug of [slugs[0], slugs[39]]) {
      expect(execFileSync('git', ['--git-dir', receiver, 'show', `main:data/api/${slug}/latest.json`]).toString()).toBe(coinFile(slugs.indexOf(slug), 96, 201));
    }
    expect(split.length, `split ${split.length} bytes, git ${plain.length}`).toBeLessThan(plain.length / 2);
  });

  it('is what a publish pushes with splitPacks (PUBLISH_SPLIT_PACKS=true): each changed file reaches the remote as a delta against its own previous version', async () => {
    const remote = join(dir.path, 'remote.git');
    await ensureLocalRemote(remote);
    // Keep every push as the pack it came in (by default a push under 100 objects is unpacked).
    execFileSync('git', ['--git-dir', remote, 'config', 'receive.unpackLimit', '1']);
    const publish = (message: string) => publishTree({ remoteUrl: remote, branch: 'main', treeDir: repo, message, workDir: join(dir.path, 'publish'), history: 'linear', splitPacks: true });
    git(repo, ['checkout', '-q', old]);
    await publish('old');
    const before = execFileSync('git', ['--git-dir', remote, 'rev-parse', 'main']).toString().trim();
    git(repo, ['checkout', '-q', next]);
    await publish('next');
    // The newest pack on the remote is the push (receive-pack keeps it, with the bases it needed appended).
    const packs = execFileSync('sh', ['-c', `ls -t ${remote}/objects/pack/*.idx`]).toString().trim().split('\n');
    const listing = execFileSync('git', ['--git-dir', remote, 'verify-pack', '-v', packs[0]]).toString();
    const previousBlob = new Map<string, string>();
    for (const line of execFileSync('git', ['--git-dir', remote, 'ls-tree', '-r', before]).toString().trim().split('\n')) {
      const [meta, path] = line.split('\t');
      previousBlob.set(path, meta.split(' ')[2]);
    }
    const after = execFileSync('git', ['--git-dir', remote, 'ls-tree', '-r', 'main']).toString().trim().split('\n');
    let ownBase = 0;
    for (const line of after) {
      const [meta, path] = line.split('\t');
      const row = listing.split('\n').find((l) => l.startsWith(meta.split(' ')[2] + ' '));
      if (row?.trim().split(/\s+/)[6] === previousBlob.get(path)) ownBase++;
    }
    expect(ownBase, `files sent as a delta of their own previous version, of ${after.length}`).toBeGreaterThanOrEqual(after.length - 1);
  });
});


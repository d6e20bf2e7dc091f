import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mapLimit } from '../files/map-limit.js';

/**
 * Thin packs whose files are deltas against their own previous versions.
 *
 * git (before 2.50's `--path-walk`) finds the base of a pushed file among the remote's objects by the hash of its
 * path, and that hash keeps only the path's last 16 characters: `api/maple-silver/latest.json` and
 * `api/koala-silver/latest.json` share it. Of files sharing a hash only the first gets its previous version as a
 * base; the others become deltas against other coins' files, several times larger (measured: 230 coins' latest.json
 * 434 KB as git packs them, 82 KB split). So the pack is built as git would, once per group of paths with distinct
 * hashes, and the packs are joined into one.
 */

/** pack-objects runs at once: each is mostly one core's delta search. */
const GROUPS_IN_FLIGHT = 2;

/** git's pack_name_hash (pack-objects.h): each character shifts the hash 2 bits, so the last 16 characters decide it. */
export function packNameHash(name: string): number {
  let hash = 0;
  for (const c of Buffer.from(name, 'utf8')) {
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) continue; // isspace
    hash = ((hash >>> 2) + (c << 24)) >>> 0;
  }
  return hash;
}

/**
 * Object lines of `git rev-list --objects` (`<oid> [<path>]`) in groups where no two paths share a hash: group i
 * holds the i-th path met of each hash. Objects without a path (commits) go to the first group.
 */
export function groupByNameHash(objectLines: readonly string[]): string[][] {
  const groups: string[][] = [[]];
  const seen = new Map<number, number>();
  for (const line of objectLines) {
    const space = line.indexOf(' ');
    if (space < 0) {
      groups[0].push(line);
      continue;
    }
    const hash = packNameHash(line.slice(space + 1));
    const rank = seen.get(hash) ?? 0;
    seen.set(hash, rank + 1);
    (groups[rank] ??= []).push(line);
  }
  return groups;
}

/**
 * One pack from several: their objects one after another, a new count and checksum. Deltas stay valid: an
 * OFS_DELTA's base is at a distance within its own pack, a REF_DELTA names its base.
 */
export function concatenatePacks(packs: readonly Buffer[]): Buffer {
  let count = 0;
  const bodies: Buffer[] = [];
  for (const pack of packs) {
    if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK' || pack.readUInt32BE(4) !== 2) throw new Error('not a version 2 pack');
    count += pack.readUInt32BE(8);
    bodies.push(pack.subarray(12, pack.length - 20));
  }
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(count, 8);
  const body = Buffer.concat([header, ...bodies]);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

/** Runs git with `input` on stdin; resolves with stdout, rejects with stderr on a non-zero exit. */
function gitOutput(git: string, args: string[], input: string, cwd?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(git, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`git ${args[0]} exited ${code}: ${Buffer.concat(err).toString('utf8').trim()}`))));
    child.stdin.on('error', () => undefined); // a child that exits early is reported by its exit code
    child.stdin.end(input);
  });
}

/**
 * What `git pack-objects --revs --thin --stdout` makes of `revs` (its stdin: `<oid>` lines to send, `^<oid>` lines
 * the receiver has), in the repository of `cwd` (default: git's own environment, GIT_DIR), built one name-hash group
 * at a time: the objects come from `rev-list --objects-edge`, each group is packed with the receiver's commits at
 * its edge as preferred bases, and the packs are joined.
 */
export async function buildSplitThinPack(git: string, revs: string, options: { deltaBaseOffset?: boolean; cwd?: string } = {}): Promise<Buffer> {
  const list = async (edge: string) => (await gitOutput(git, ['rev-list', edge, '--stdin'], revs, options.cwd)).toString('utf8').split('\n').filter(Boolean);
  // The bases are the sent commits' own parents when the receiver has them (main's previous merge: a clone of main
  // alone can reuse those deltas); a parentless commit (a poller branch's tip) takes every commit the receiver has.
  let listing = await list('--objects-edge');
  if (!listing.some((l) => l.startsWith('-'))) listing = await list('--objects-edge-aggressive');
  const edges = listing.filter((l) => l.startsWith('-'));
  const groups = groupByNameHash(listing.filter((l) => !l.startsWith('-')));
  // Without --thin, pack-objects reads an object list; `-<commit>` lines still give it the receiver's trees as bases.
  const args = ['pack-objects', '--stdout', '-q', ...(options.deltaBaseOffset === false ? [] : ['--delta-base-offset'])];
  const packs = await mapLimit(
    groups.filter((g) => g.length > 0),
    GROUPS_IN_FLIGHT,
    (group) => gitOutput(git, args, [...edges, ...group].join('\n') + '\n', options.cwd),
  );
  return concatenatePacks(packs);
}

#!/usr/bin/env node
// `git` in the exec path of our pushes (src/publish/pack-shim.ts): the pack a push sends is built by
// buildSplitThinPack (src/publish/split-pack.ts); every other git command, and that one whenever building
// fails, runs the real git unchanged.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const realGit = process.env.STAKTRAKR_REAL_GIT;
const args = process.argv.slice(2);

function passThrough(input) {
  const r = spawnSync(realGit, args, input === undefined ? { stdio: 'inherit' } : { input, stdio: ['pipe', 'inherit', 'inherit'], maxBuffer: 1 << 30 });
  if (r.error) {
    process.stderr.write(`git shim: ${r.error.message}\n`);
    process.exit(128);
  }
  process.exit(r.status ?? 128);
}

if (!realGit) {
  process.stderr.write('git shim: STAKTRAKR_REAL_GIT is not set\n');
  process.exit(128);
}
const isPushPack = args[0] === 'pack-objects' && args.includes('--revs') && args.includes('--stdout') && args.includes('--thin') && !args.some((a) => a.startsWith('--filter') || a === '--all');
if (!isPushPack) passThrough();
else {
  const revs = readFileSync(0);
  let pack;
  try {
    const { buildSplitThinPack } = await import(new URL('../dist/src/publish/split-pack.js', import.meta.url).href);
    pack = await buildSplitThinPack(realGit, revs.toString('utf8'), { deltaBaseOffset: args.includes('--delta-base-offset') });
  } catch (err) {
    process.stderr.write(`git shim: packing by path groups failed, git packs it instead (${String(err?.message ?? err).split('\n')[0]})\n`);
    passThrough(revs);
  }
  // Writes to a pipe are synchronous on Linux: the whole pack is out before the process ends.
  process.stdout.write(pack);
}

import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from '@libsql/client';
import { loadCatalogue } from '../catalogue/load.js';
import { ensureExportSchema } from '../export/export-schema.js';
import { fileExportState } from '../export/export-state.js';
import { exportTree } from '../export/export-tree.js';
import { publishPollerBranch } from '../export/publish-branch.js';
import { writeSnapshot } from '../export/snapshot.js';
import { mergeTrees } from '../merge/merge-trees.js';
import { publishMain } from '../merge/publish-main.js';
import { peakRssMb, round } from './stats.js';

/**
 * One export-side step in a process of its own, so that its peak RSS is its own (the parent has generated
 * 1.4 million rows and run the fleet). Prints one JSON line: `{ms, peakRssMb, ...}`.
 */
export type ExportStep =
  | { step: 'export'; db: string; catalogue: string; pollerId: string | null; outDir: string; stateFile: string }
  | { step: 'publish'; db: string; catalogue: string; pollerId: string; remote: string; workDir: string; splitPacks?: boolean }
  | { step: 'merge-trees'; treeDirs: string[] }
  | { step: 'merge-publish'; db: string; remote: string; branches: string[]; workDir: string; snapshot?: boolean; splitPacks?: boolean }
  | { step: 'snapshot'; db: string; outFile: string; throughClient?: boolean };

const SELF = fileURLToPath(import.meta.url);

/** Runs a step in a child process and returns what it printed. */
export async function runExportStep(step: ExportStep): Promise<Record<string, number | string | boolean>> {
  const { stdout } = await promisify(execFile)(process.execPath, [SELF, JSON.stringify(step)], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

async function filesOf(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) files.set(relative(dir, join(e.parentPath, e.name)), await readFile(join(e.parentPath, e.name), 'utf8'));
  }
  return files;
}

async function run(step: ExportStep): Promise<Record<string, number | string | boolean>> {
  const started = performance.now();
  const took = () => round(performance.now() - started, 0);
  switch (step.step) {
    case 'export': {
      const client = createClient({ url: `file:${step.db}` });
      await ensureExportSchema(client);
      const stats = await exportTree({ client, catalogue: await loadCatalogue(step.catalogue), pollerId: step.pollerId, outDir: step.outDir, state: fileExportState(step.stateFile) });
      client.close();
      return { ms: took(), full: stats.full, files: stats.files, filesWritten: stats.filesWritten, datesRecomputed: stats.datesRecomputed };
    }
    case 'publish': {
      const client = createClient({ url: `file:${step.db}` });
      const r = await publishPollerBranch({ client, catalogue: await loadCatalogue(step.catalogue), pollerId: step.pollerId, remoteUrl: step.remote, workDir: step.workDir, splitPacks: step.splitPacks });
      client.close();
      return { ms: took(), committed: r.committed, files: r.files };
    }
    case 'merge-trees': {
      const trees = await Promise.all(step.treeDirs.map(async (dir, i) => ({ branch: `api${i + 1}`, files: await filesOf(dir) })));
      const t = performance.now();
      const merged = mergeTrees(trees);
      return { ms: round(performance.now() - t, 0), files: merged.files.size, used: merged.used.length };
    }
    case 'merge-publish': {
      const client = createClient({ url: `file:${step.db}` });
      const r = await publishMain({ remoteUrl: step.remote, branches: step.branches, workDir: step.workDir, client, databaseFile: step.db, snapshotEveryMs: step.snapshot ? 1 : 0, splitPacks: step.splitPacks });
      client.close();
      return { ms: took(), committed: r.committed, used: r.used.length, snapshot: r.snapshot };
    }
    case 'snapshot': {
      const client = createClient({ url: `file:${step.db}` });
      const r = await writeSnapshot({ client, databaseFile: step.throughClient ? null : step.db, outFile: step.outFile });
      client.close();
      return { ms: took(), bytes: r.bytes, rows: r.rows, method: r.method };
    }
  }
}

if (process.argv[1] === SELF) {
  const step = JSON.parse(process.argv[2]) as ExportStep;
  run(step)
    .then((r) => process.stdout.write(JSON.stringify({ ...r, peakRssMb: peakRssMb() }) + '\n'))
    .catch((err) => {
      process.stderr.write(`${(err as Error).stack}\n`);
      process.exit(1);
    });
}

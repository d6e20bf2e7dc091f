import { join, resolve } from 'node:path';
import { loadCatalogue } from '../catalogue/load.js';
import { loadConfig } from '../config/env.js';
import { ensureExportSchema } from '../export/export-schema.js';
import { exportTree } from '../export/export-tree.js';
import { SymlinkRefusedError } from '../files/no-follow.js';
import { openDatabase } from '../store/database.js';
import { runMigrations } from '../store/migrations.js';
import { UsageError } from './errors.js';

/**
 * `poller export --out DIR`: one poller's tree (or every poller's) written into DIR/data, no git. DIR is taken
 * as given; a symbolic link at DIR/data or below it is refused with its path (nothing is written through it).
 * Rows whose coin slug or vendor id is not a valid name are skipped with a warning on stderr.
 */
export async function exportCommand(options: { out: string; pollerId: string | null | undefined }): Promise<number> {
  const config = loadConfig();
  const catalogue = await loadCatalogue(config.cataloguePath);
  const client = openDatabase({ url: config.databaseUrl, authToken: config.databaseToken });
  try {
    await runMigrations(client);
    await ensureExportSchema(client);
    const pollerId = options.pollerId === undefined ? config.pollerId : options.pollerId;
    const outDir = join(resolve(options.out), 'data');
    const stats = await exportTree({
      client,
      catalogue,
      pollerId,
      outDir,
      onWarning: (message) => process.stderr.write(`poller export: warning: ${message}\n`),
    }).catch((err) => {
      throw err instanceof SymlinkRefusedError ? new UsageError(err.message) : err;
    });
    process.stdout.write(
      `${stats.files} files in ${outDir} (${pollerId ?? 'every poller'}; latest window ${stats.latestWindow ?? 'none'}; ${stats.ms} ms)\n`,
    );
    return 0;
  } finally {
    client.close();
  }
}

import { join, resolve } from 'node:path';
import { loadCatalogue } from '../catalogue/load.js';
import { loadConfig } from '../config/env.js';
import { ensureExportSchema } from '../export/export-schema.js';
import { exportTree } from '../export/export-tree.js';
import { openDatabase } from '../store/database.js';
import { runMigrations } from '../store/migrations.js';

/** `poller export --out DIR`: one poller's tree (or every poller's) written into a folder, no git. */
export async function exportCommand(options: { out: string; pollerId: string | null | undefined }): Promise<number> {
  const config = loadConfig();
  const catalogue = await loadCatalogue(config.cataloguePath);
  const client = openDatabase({ url: config.databaseUrl, authToken: config.databaseToken });
  try {
    await runMigrations(client);
    await ensureExportSchema(client);
    const pollerId = options.pollerId === undefined ? config.pollerId : options.pollerId;
    const outDir = join(resolve(options.out), 'data');
    const stats = await exportTree({ client, catalogue, pollerId, outDir });
    process.stdout.write(
      `${stats.files} files in ${outDir} (${pollerId ?? 'every poller'}; latest window ${stats.latestWindow ?? 'none'}; ${stats.ms} ms)\n`,
    );
    return 0;
  } finally {
    client.close();
  }
}

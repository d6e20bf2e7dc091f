import { loadConfig } from '../config/env.js';
import { importLogs } from '../recovery/import-log.js';
import { PriceStore } from '../store/price-store.js';
import { progressReporter } from './progress.js';

export interface ImportLogArgs {
  path: string;
  dryRun: boolean;
  legacyPollerId?: string;
}

/** `poller import-log`: idempotent import with progress; prints a JSON report on stdout. */
export async function importLogCommand(args: ImportLogArgs): Promise<number> {
  const config = loadConfig();
  const store = new PriceStore({ url: config.databaseUrl, authToken: config.databaseToken });
  try {
    await store.migrate();
    const report = await importLogs(args.path, store, {
      dryRun: args.dryRun,
      legacyPollerId: args.legacyPollerId,
      onProgress: progressReporter(args.dryRun ? 'checking' : 'importing'),
      onSkipped: ({ file, line }, reason) => process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}refused ${file}:${line}: ${reason}\n`),
    });
    process.stdout.write(JSON.stringify({ dryRun: args.dryRun, database: store.description, ...report }, null, 2) + '\n');
    return 0;
  } finally {
    await store.close();
  }
}

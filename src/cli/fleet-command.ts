import { writeFile } from 'node:fs/promises';
import { loadCatalogue } from '../catalogue/load.js';
import { startFleet, rewriteCatalogueForFleet } from '../fleet/index.js';
import { untilSignal } from './signals.js';

export interface FleetArgs {
  port: number;
  catalogue: string;
  latencyMs: [number, number];
  writeCatalogue?: string;
}

/** `poller fleet`: serves the local vendor fleet until Ctrl-C; optionally writes the catalogue pointed at it. */
export async function fleetCommand(args: FleetArgs): Promise<number> {
  const catalogue = await loadCatalogue(args.catalogue);
  const fleet = await startFleet({ catalogue: catalogue.file, port: args.port, latencyMs: args.latencyMs });
  process.stdout.write(`vendor fleet listening on ${fleet.url} (${catalogue.targets.length} targets); admin: ${fleet.url}/_fleet/health\n`);
  if (args.writeCatalogue) {
    await writeFile(args.writeCatalogue, JSON.stringify(rewriteCatalogueForFleet(catalogue.file, fleet.url), null, 2));
    process.stdout.write(`catalogue pointing at the fleet written to ${args.writeCatalogue}\n`);
  }
  await untilSignal();
  await fleet.close();
  return 0;
}

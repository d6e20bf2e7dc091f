import { readFile } from 'node:fs/promises';
import { catalogueSchema, type CatalogueFile } from './schema.js';
import type { Target } from './target.js';

/** A catalogue file that cannot be used; the message names the coin, the vendor and the field. */
export class CatalogueError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`catalogue ${file} is refused:\n  - ${problems.join('\n  - ')}`);
    this.name = 'CatalogueError';
  }
}

export interface Catalogue {
  /** Where it was read from, for messages. */
  source: string;
  file: CatalogueFile;
  /** Every enabled coin x vendor entry, sorted by coin then vendor. */
  targets: Target[];
}

/** Parses catalogue JSON text. Throws CatalogueError naming coin, vendor and field. */
export function parseCatalogue(text: string, source = 'providers.json'): Catalogue {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CatalogueError(source, [`not valid JSON: ${(err as Error).message}`]);
  }
  const parsed = catalogueSchema.safeParse(raw);
  if (!parsed.success) {
    // A bad coin slug is a bad record key: its own message ("expected a slug ...") says more than "Invalid key in record".
    const messageOf = (issue: (typeof parsed.error.issues)[number]) => (issue.code === 'invalid_key' && issue.issues.length ? issue.issues[0].message : issue.message);
    const problems = parsed.error.issues.map((issue) => `${describeCataloguePath(raw, issue.path)}: ${messageOf(issue)}`);
    throw new CatalogueError(source, problems);
  }
  return { source, file: parsed.data, targets: listTargets(parsed.data) };
}

/** Reads and parses a catalogue file. */
export async function loadCatalogue(path: string): Promise<Catalogue> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CatalogueError(path, [`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set CATALOGUE_PATH to a providers.json file`]);
  }
  return parseCatalogue(text, path);
}

/** Enabled coin x vendor entries, in a stable order. */
export function listTargets(file: CatalogueFile): Target[] {
  const targets: Target[] = [];
  for (const coin of Object.keys(file.coins).sort()) {
    const c = file.coins[coin];
    for (const p of c.providers) {
      if (!p.enabled) continue;
      targets.push({
        coin,
        coinName: c.name,
        metal: c.metal,
        weightOz: c.weight_oz,
        vendor: p.id,
        vendorName: p.name ?? p.id,
        urls: p.urls ?? [p.url as string],
        ...(p.interval_minutes ? { intervalMinutes: p.interval_minutes } : {}),
      });
    }
  }
  return targets.sort((a, b) => (a.coin === b.coin ? a.vendor.localeCompare(b.vendor) : a.coin.localeCompare(b.coin)));
}

/** `coin "ase", provider #3 (apmex), field url` from a zod path like ['coins','ase','providers',2,'url']. */
function describeCataloguePath(raw: unknown, path: PropertyKey[]): string {
  if (path[0] !== 'coins' || path.length < 2) return path.length ? `field ${path.map(String).join('.')}` : 'top level';
  const coin = String(path[1]);
  if (path.length === 2) return `coin "${coin}"`;
  if (path[2] !== 'providers' || path.length < 4) return `coin "${coin}", field ${path.slice(2).map(String).join('.')}`;
  const index = Number(path[3]);
  const id = (raw as any)?.coins?.[coin]?.providers?.[index]?.id;
  const who = `provider #${index + 1}${typeof id === 'string' ? ` (${id})` : ''}`;
  const field = path.slice(4).map(String).join('.');
  return `coin "${coin}", ${who}${field ? `, field ${field}` : ''}`;
}

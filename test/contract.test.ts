import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkPublishedFile, checkPublishedText, classifyPublishedPath, ContractError, keyShape } from '../src/contract/index.js';

const SAMPLES = 'test/fixtures/contract/StakTrakrApi/data';

/** Every price file of the real March 2026 tree, relative to data/. */
function samplePriceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (classifyPublishedPath(relative(SAMPLES, full))) out.push(relative(SAMPLES, full));
    }
  };
  walk(join(SAMPLES, 'api'));
  return out.sort();
}

const readSample = (path: string) => JSON.parse(readFileSync(join(SAMPLES, path), 'utf8'));

describe('published file schemas against the real March 2026 files', () => {
  const files = samplePriceFiles();

  it('finds every kind of price file among the samples', () => {
    const kinds = new Set(files.map((f) => classifyPublishedPath(f)!.kind));
    expect([...kinds].sort()).toEqual(['coin-history', 'coin-latest', 'global-latest', 'manifest', 'providers']);
    expect(files).toContain('api/ase/history-7d.json');
    expect(files).not.toContain('api/goldback-spot.json');
  });

  it.each(samplePriceFiles())('accepts the real %s at contract level', (path) => {
    expect(() => checkPublishedFile(path, readSample(path), 'contract')).not.toThrow();
  });

  it('holds our fixes at the published level: the old window format and a manifest without enabled_coins are refused', () => {
    expect(() => checkPublishedFile('api/ase/latest.json', readSample('api/ase/latest.json'), 'published')).toThrow(/windows_24h\.0\.window/);
    expect(() => checkPublishedFile('api/manifest.json', readSample('api/manifest.json'), 'published')).toThrow(/enabled_coins/);
  });

  it('names the file and the field of a violation', () => {
    const sample = readSample('api/age/latest.json');
    sample.vendors.apmex.price = 5251.295;
    sample.windows_24h[3].median = 'n/a';
    try {
      checkPublishedFile('api/age/latest.json', sample, 'contract');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ContractError);
      const e = err as ContractError;
      expect(e.file).toBe('api/age/latest.json');
      expect(e.message).toMatch(/api\/age\/latest\.json breaks the published contract/);
      expect(e.problems.join('\n')).toMatch(/field vendors\.apmex\.price: .*2 decimals/);
      expect(e.problems.join('\n')).toMatch(/field windows_24h\.3\.median/);
    }
  });

  it('refuses invalid JSON, unknown paths, unsorted history and a coin_count that disagrees', () => {
    expect(() => checkPublishedText('api/ase/history-30d.json', '[{"date":')).toThrow(/api\/ase\/history-30d\.json.*\n.*not valid JSON/);
    expect(() => checkPublishedFile('api/ase/prices.json', {})).toThrow(/not a known price file path/);
    const history = readSample('api/ase/history-30d.json');
    [history[0], history[1]] = [history[1], history[0]];
    expect(() => checkPublishedFile('api/ase/history-30d.json', history, 'contract')).toThrow(/field 1\.date: expected dates in ascending order/);
    const manifest = readSample('api/manifest.json');
    manifest.coin_count = 3;
    expect(() => checkPublishedFile('api/manifest.json', manifest, 'contract')).toThrow(/field coin_count/);
  });

  it('keyShape collapses slugs and vendors and keeps field names', () => {
    const shape = keyShape('coin-latest', readSample('api/age/latest.json'));
    expect(shape).toContain('vendors.*.stale_since');
    expect(shape).toContain('windows_24h[].vendors.*');
    expect(shape).toContain('last_known_price_by_site.*');
    expect(shape).not.toContain('vendors.apmex');
    expect([...keyShape('providers', readSample('api/providers.json'))]).toEqual(['*', '*.*']);
  });
});

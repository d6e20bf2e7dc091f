import { checkPublishedFile } from '../contract/check.js';
import { stableStringify } from './stable-json.js';

/**
 * Checks every price file against the published contract, then renders it as stable JSON. Throws the
 * first ContractError (naming file and field) before anything is returned, so a broken export writes nothing.
 */
export function renderPublishedFiles(values: ReadonlyMap<string, unknown>): Map<string, string> {
  checkPublishedFiles(values, values.keys());
  return renderStableFiles(values);
}

/** Every file as stable JSON, sorted by path, unchecked: check the ones about to be written with checkPublishedFiles. */
export function renderStableFiles(values: ReadonlyMap<string, unknown>): Map<string, string> {
  const texts = new Map<string, string>();
  for (const path of [...values.keys()].sort()) texts.set(path, stableStringify(values.get(path)));
  return texts;
}

/** Checks the files at `paths` (those of `values`; others are skipped) against the published contract; throws the first ContractError. */
export function checkPublishedFiles(values: ReadonlyMap<string, unknown>, paths: Iterable<string>): void {
  for (const path of paths) if (values.has(path)) checkPublishedFile(path, values.get(path), 'published');
}

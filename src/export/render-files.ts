import { checkPublishedFile } from '../contract/check.js';
import { stableStringify } from './stable-json.js';

/**
 * Checks every price file against the published contract, then renders it as stable JSON. Throws the
 * first ContractError (naming file and field) before anything is returned, so a broken export writes nothing.
 */
export function renderPublishedFiles(values: ReadonlyMap<string, unknown>): Map<string, string> {
  for (const [path, value] of values) checkPublishedFile(path, value, 'published');
  const texts = new Map<string, string>();
  for (const path of [...values.keys()].sort()) texts.set(path, stableStringify(values.get(path)));
  return texts;
}

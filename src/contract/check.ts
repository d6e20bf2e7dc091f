import type { z } from 'zod';
import type { ContractLevel } from './fields.js';
import { ContractError } from './contract-error.js';
import { classifyPublishedPath, schemaForKind } from './published-files.js';

/** Most problems listed in one error; the rest are counted. */
const MAX_PROBLEMS = 10;

/**
 * Checks one price file (parsed JSON) against its schema. Throws ContractError naming the file and
 * fields; returns the parsed value. Unknown paths are refused: the exporter only writes files it knows.
 */
export function checkPublishedFile(path: string, value: unknown, level: ContractLevel = 'published'): unknown {
  const kind = classifyPublishedPath(path);
  if (!kind) throw new ContractError(path, ['not a known price file path']);
  const result = schemaForKind(kind, level).safeParse(value);
  if (result.success) return result.data;
  throw new ContractError(path, describeIssues(result.error.issues));
}

/** Parses JSON text, then checks it. Throws ContractError for invalid JSON too. */
export function checkPublishedText(path: string, text: string, level: ContractLevel = 'published'): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ContractError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  return checkPublishedFile(path, value, level);
}

function describeIssues(issues: z.core.$ZodIssue[]): string[] {
  const lines = issues.slice(0, MAX_PROBLEMS).map((i) => `field ${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`);
  if (issues.length > MAX_PROBLEMS) lines.push(`... and ${issues.length - MAX_PROBLEMS} more`);
  return lines;
}

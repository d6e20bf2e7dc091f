/**
 * Stable JSON text: object keys sorted (by UTF-16 code units, at every depth), two-space indent,
 * a final newline. The same value always gives the same bytes, so git deltas stay small.
 * Numbers are written as JavaScript writes them; builders round prices to cents before.
 */
export function stableStringify(value: unknown): string {
  return write(value, '') + '\n';
}

function write(value: unknown, indent: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`cannot publish the number ${value}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      const inner = indent + '  ';
      if (Array.isArray(value)) {
        if (value.length === 0) return '[]';
        return `[\n${value.map((v) => inner + write(v, inner)).join(',\n')}\n${indent}]`;
      }
      const keys = Object.keys(value as object)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort(compareKeys);
      if (keys.length === 0) return '{}';
      const body = keys.map((k) => `${inner}${JSON.stringify(k)}: ${write((value as Record<string, unknown>)[k], inner)}`);
      return `{\n${body.join(',\n')}\n${indent}}`;
    }
    default:
      throw new Error(`cannot publish a value of type ${typeof value}`);
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

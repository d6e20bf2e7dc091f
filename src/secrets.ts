/** Names of the variables whose values must never reach a log, an error message, git config or a commit. */
export const SECRET_VARIABLES = ['TURSO_AUTH_TOKEN', 'GITHUB_TOKEN', 'SYNC_FALLBACK_TOKEN', 'GEMINI_API_KEY', 'METAL_PRICE_API_KEY', 'ADMIN_PASSWORD', 'ADMIN_TOKEN'] as const;

/** Current values of the secret variables. */
export function secretValues(env: Record<string, string | undefined> = process.env): string[] {
  return SECRET_VARIABLES.map((k) => env[k]).filter((v): v is string => !!v);
}

/**
 * Replaces every `scheme://user:pass@` or `scheme://user@` in a text by `scheme://***:***@`,
 * and every occurrence of the given secrets (raw, URL-encoded and URL-decoded) by `***`.
 */
export function redactText(text: string, secrets: Array<string | undefined> = secretValues()): string {
  let out = String(text).replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***:***@');
  const all = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    all.add(s);
    try {
      all.add(decodeURIComponent(s));
    } catch {
      /* not percent-encoded */
    }
    all.add(encodeURIComponent(s));
  }
  // Longest first, so a secret that contains another is removed whole.
  for (const s of [...all].filter((x) => x.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('***');
  }
  return out;
}

/**
 * A URL with its username and password replaced by `***` (`http://***:***@proxy:8080/`).
 * Text that is not a parseable URL gets the same treatment by pattern, so a broken setting
 * cannot leak either. Anything without credentials comes back unchanged.
 */
export function redactUrl(url: string): string {
  if (typeof url !== 'string' || url === '') return '';
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      if (u.username) u.username = '***';
      if (u.password) u.password = '***';
      return u.toString();
    }
    return url;
  } catch {
    return redactText(url, []);
  }
}

/** Values that must never leave this module: the token, its encoded header, and any `user:pass@` in a URL. */
export function scrubText(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = String(text).replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
  const all = new Set<string>();
  for (const s of [...secrets, process.env.GITHUB_TOKEN]) {
    if (!s || s.length < 4) continue;
    all.add(s);
    all.add(encodeURIComponent(s));
  }
  // Longest first, so a secret that contains another is removed whole.
  for (const s of [...all].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out;
}

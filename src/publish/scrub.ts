import { redactText, secretValues } from '../secrets.js';

/** The token, its encoded forms, any `user:pass@` in a URL, and every configured secret, removed from a text. */
export function scrubText(text: string, secrets: ReadonlyArray<string | undefined>): string {
  return redactText(text, [...secrets, ...secretValues()]);
}

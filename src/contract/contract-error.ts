/** A file that would break the published contract; the message names the file and each failing field. */
export class ContractError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} breaks the published contract:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ContractError';
  }
}

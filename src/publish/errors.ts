/** The options are wrong: fix the configuration; retrying cannot help. */
export class PublishConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PublishConfigError';
  }
}

/** Every attempt to reach the remote failed; the remote is unchanged and the next publish carries the whole tree. */
export class PublishError extends Error {
  constructor(message: string, readonly attempts: number) {
    super(message);
    this.name = 'PublishError';
  }
}

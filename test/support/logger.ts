import { Writable } from 'node:stream';
import { pino } from 'pino';

/** A pino logger whose JSON lines are kept in `lines`, for tests that read what was logged. */
export function captureLogger(level: pino.Level = 'debug') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

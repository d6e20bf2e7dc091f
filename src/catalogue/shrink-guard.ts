import type { Catalogue } from './load.js';
import { targetKey } from './target.js';

/**
 * A catalogue edit that would drop most targets at once (`"coins": {}`, a truncated file, a bad merge) is far more
 * often a mistake than a decision, and acting on it removes the job schedulers of every target it lost. Such an
 * edit is refused (the running poller keeps its last good catalogue; a scheduler that starts with it does not
 * start) unless the file itself confirms it, with a top-level marker naming how many enabled targets it leaves:
 *
 *   { "accept_shrink_to": 12, "coins": { ... } }
 *
 * The marker confirms that edit only: a later edit that leaves another number of targets is checked again.
 */
export const SHRINK_MARKER = 'accept_shrink_to';

/** More than this share of the enabled targets gone at once is a shrink. */
export const SHRINK_LIMIT = 0.5;

export interface ShrinkCheck {
  /** Enabled targets before (coin:vendor keys). */
  before: number;
  /** Of those, how many the new catalogue no longer has. */
  gone: number;
  /** Enabled targets in the new catalogue. */
  after: number;
  /** Set when the edit is refused: what happened and how to confirm it. */
  problem: string | null;
}

/**
 * Compares the enabled targets before (a catalogue, or coin:vendor keys such as those of the job schedulers in
 * Redis) with a new catalogue. Refused when more than half of them are gone and the file does not confirm it.
 */
export function checkShrink(
  before: Catalogue | Iterable<string>,
  next: Catalogue,
  /** What stays in force when refused, for the message. */
  keeping = 'the last good catalogue stays in force',
): ShrinkCheck {
  const keys = new Set(isCatalogue(before) ? before.targets.map(targetKey) : before);
  const kept = new Set(next.targets.map(targetKey));
  const gone = [...keys].filter((k) => !kept.has(k));
  const after = next.targets.length;
  const shrinks = keys.size > 0 && gone.length > keys.size * SHRINK_LIMIT;
  const confirmed = (next.file as Record<string, unknown>)[SHRINK_MARKER] === after;
  const problem =
    shrinks && !confirmed
      ? `catalogue ${next.source} would drop ${gone.length} of the ${keys.size} enabled targets at once (more than ${Math.round(SHRINK_LIMIT * 100)}%: ` +
        `${gone.slice(0, 5).join(', ')}${gone.length > 5 ? ', ...' : ''}), leaving ${after}; refused, ${keeping}. ` +
        `If this is intended, add "${SHRINK_MARKER}": ${after} at the top level of the file (it confirms this edit only)`
      : null;
  return { before: keys.size, gone: gone.length, after, problem };
}

function isCatalogue(x: Catalogue | Iterable<string>): x is Catalogue {
  return typeof x === 'object' && x !== null && 'targets' in x && Array.isArray((x as Catalogue).targets);
}

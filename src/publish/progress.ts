/** Reports how far a long step (export, merge) has come: a percentage and the phase it enters. */
export type PublishProgress = (percent: number, phase: string) => void;

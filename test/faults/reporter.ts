/**
 * Collects each fault test's result row (attached as `task.meta.faultResult` by test/faults/harness.ts), writes them
 * to `$FAULTS_REPORT` (default test/faults/results.json) and prints the table at the end of the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import type { FaultResult } from './harness.js';

const FAULT_FILES = ['worker-kill', 'redis-kill', 'sqld', 'git-remote', 'host-down', 'disk-full', 'readonly-db', 'secrets'];

export default class FaultsReporter implements Reporter {
  private started = Date.now();

  onTestRunStart(): void {
    this.started = Date.now();
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const rows: Array<FaultResult & { test: string; state: string }> = [];
    // In the order of the faults (1 to 8), whatever order the files ran in.
    const rank = (id: string) => {
      const i = FAULT_FILES.findIndex((f) => id.endsWith(`/${f}.test.ts`));
      return i < 0 ? FAULT_FILES.length : i;
    };
    for (const m of [...testModules].sort((a, b) => rank(a.moduleId) - rank(b.moduleId))) {
      for (const t of m.children.allTests()) {
        const row = t.meta().faultResult;
        if (row) rows.push({ ...row, test: t.fullName, state: t.result().state });
      }
    }
    const seconds = Math.round((Date.now() - this.started) / 1000);
    const path = resolve(process.env.FAULTS_REPORT || 'test/faults/results.json');
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify({ finishedAt: new Date().toISOString(), durationSeconds: seconds, results: rows }, null, 2)}\n`);
    const header = ['fault', 'runs', 'expected', 'found', 'lost', 'duplicated', 'recovery s', 'bound s', 'outcome'];
    const body = rows.map((r) => [r.fault, r.runs, r.expected, r.found, r.lost, r.duplicated, r.recoverySeconds ?? '-', r.boundSeconds ?? '-', r.outcome].map(String));
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
    const out = [
      '',
      `Fault suite: ${rows.length} results in ${seconds} s (written to ${path})`,
      line(header),
      `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
      ...body.map(line),
      ...rows.filter((r) => r.note).map((r) => `  ${r.fault}: ${r.note}`),
      '',
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  }
}

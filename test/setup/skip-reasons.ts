// Vitest reporter: after the run, one line per skipped suite saying what it needs and how to
// install it (the notes of test/helpers/needs.ts). The default reporter shows only counts.
import { relative } from 'node:path';
import type { Reporter, TestCase, TestModule, Vitest } from 'vitest/node';

export default class SkipReasons implements Reporter {
  private vitest: Vitest | undefined;
  private readonly lines: string[] = [];

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestCaseResult(test: TestCase): void {
    const r = test.result();
    if (r.state !== 'skipped' || !r.note) return;
    const file = relative(test.project.config.root, test.module.moduleId);
    const suite = test.parent.type === 'suite' ? test.parent.fullName : file;
    this.lines.push(`  ${file} › ${suite}: ${r.note}`);
  }

  onTestRunEnd(_modules: readonly TestModule[]): void {
    if (this.lines.length === 0) return;
    const log = this.vitest ? (s: string) => this.vitest!.logger.log(s) : (s: string) => console.log(s);
    log(`\nSkipped suites (${this.lines.length}); set MICROSCALE_REQUIRE_ALL=1 to make these fail:`);
    for (const l of this.lines.sort()) log(l);
  }
}

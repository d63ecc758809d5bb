// Prints the per-module score table from the JSON reports `make mutation` leaves in reports/mutation/.
import fs from 'node:fs';

const modules = process.argv.slice(2);
const rows = [];
for (const m of modules) {
  const file = `reports/mutation/${m}.json`;
  if (!fs.existsSync(file)) {
    rows.push([m, 'no report', '', '', '', '', '']);
    continue;
  }
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  const n = { Killed: 0, Survived: 0, Timeout: 0, NoCoverage: 0, other: 0 };
  for (const f of Object.values(report.files)) {
    for (const mutant of f.mutants) {
      if (mutant.status in n) n[mutant.status]++;
      else n.other++; // CompileError, RuntimeError, Ignored: not counted in the score
    }
  }
  const valid = n.Killed + n.Survived + n.Timeout + n.NoCoverage;
  const score = valid === 0 ? 'n/a' : `${((100 * (n.Killed + n.Timeout)) / valid).toFixed(1)} %`;
  rows.push([m, String(valid), String(n.Killed), String(n.Survived), String(n.Timeout), String(n.NoCoverage), score]);
}
const head = ['module', 'mutants', 'killed', 'survived', 'timeout', 'no coverage', 'score'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log(line(head));
for (const r of rows) console.log(line(r));

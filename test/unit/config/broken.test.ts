/**
 * The broken-config corpus: every test/fixtures/broken-configs/NAME.conf must give exactly the
 * diagnostics in NAME.expected (errors and warnings; see the README there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { formatDiagnostic, loadConfig } from '../../../src/config/index.js';

const DIR = 'test/fixtures/broken-configs';
const cases = readdirSync(DIR).filter((f) => f.endsWith('.conf')).map((f) => f.slice(0, -'.conf'.length)).sort();

test('the corpus has at least 40 cases', () => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
});

for (const name of cases) {
  test(`broken config ${name}`, () => {
    const expected = readFileSync(`${DIR}/${name}.expected`, 'utf8').split('\n').filter((l) => l !== '');
    const r = loadConfig(`${DIR}/${name}.conf`);
    assert.deepEqual(r.diagnostics.map(formatDiagnostic), expected);
    assert.equal(r.config !== undefined, !expected.some((l) => / error: /.test(l)), 'config is present iff there is no error');
    for (const d of r.diagnostics) {
      assert.ok(d.location.line >= 1 && d.location.column >= 1);
    }
  });
}

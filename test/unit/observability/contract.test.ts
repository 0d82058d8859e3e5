/**
 * Dashboards (dashboards/*.json) and alerting rules (alerts/*.rules.yml) against the metric
 * contract (src/observability/names.ts):
 *   (a) every metric name they use is exported (or is Prometheus' `up`);
 *   (b) label names inside braces belong to the metric (no `instance` where `vrrp_instance` is
 *       meant), grouping labels exist, and label values of reason/cause/state/... are real;
 *   (c) dashboards are import-ready (uid, schemaVersion, unique ids, `${datasource}` everywhere,
 *       job/vrid variables, drill-down variables and links);
 *   (d) promtool check rules / test rules pass, and every dashboard expression is valid PromQL;
 *   (e) amtool check-config passes and routes each severity to its receiver;
 *   (f) every alert has severity, summary, description, a runbook that exists, and tests that
 *       make it fire and not fire.
 * (d) and (e) are skipped when promtool / amtool are not installed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_METRICS, DEFAULT_RUNBOOK_BASE_URL, INSTANCE_LABELS, METRICS, RUNBOOK_BASE_LABEL, exportedMetricNames, type MetricSpec } from '../../../src/observability/names.js';
import { AlertmanagerPusher, SPLIT_BRAIN_ALERT } from '../../../src/guard/alertmanager.js';
import { DROP_REASONS } from '../../../src/protocol/check.js';
import { TRANSITION_CAUSES } from '../../../src/events/index.js';
import { DETECTION_SOURCES } from '../../../src/guard/config.js';
import { REJECT_REASONS } from '../../../src/guard/signing.js';
import { RUN_RESULTS } from '../../../src/tracking/run.js';
import { TRACK_FILE_PROBLEMS } from '../../../src/tracking/track-file.js';
import { NOTIFY_RESULTS } from '../../../src/notify/notifier.js';
import { MAIL_RESULTS } from '../../../src/notify/mailer.js';
import {
  ROOT,
  allPanels,
  analyzePromql,
  dashboardExpressions,
  dashboardFiles,
  groupingLabelsIn,
  loadDashboard,
  loadRules,
  metricNamesIn,
  parseYaml,
  ruleExpressions,
  ruleFiles,
  selectorsIn,
  substituteGrafanaVars,
  templateQueries,
  templatingQueryExpression,
  type Json,
  type Rule,
  type YamlValue,
} from '../../helpers/promql.js';

const RULES_FILE = join(ROOT, 'alerts/keepwatch.rules.yml');
const RULES_TEST_FILE = join(ROOT, 'alerts/tests/keepwatch.rules.test.yml');
const ALERTMANAGER_FILE = join(ROOT, 'alerts/alertmanager.example.yml');
/**
 * Every rule's runbook link: the external label RUNBOOK_BASE_LABEL if Prometheus has one, else
 * DEFAULT_RUNBOOK_BASE_URL (names.ts); the same base for the dashboards and the agents' push.
 */
const runbookUrlTemplate = (alert: string) => `{{ with $externalLabels.${RUNBOOK_BASE_LABEL} }}{{ . }}{{ else }}${DEFAULT_RUNBOOK_BASE_URL}{{ end }}/${alert}.md`;
const SEVERITIES = ['critical', 'warning', 'info'];
const STATES = ['init', 'backup', 'master', 'fault'];
/** The alert the agents push to Alertmanager themselves (src/guard/alertmanager.ts). */
const AGENT_ALERT_SOURCE = join(ROOT, 'src/guard/alertmanager.ts');
const RULES_SOURCE = join(ROOT, 'alerts/keepwatch.rules.yml');

// ------------------------------------------------------------------------------------------------
// The contract, by exported series name
// ------------------------------------------------------------------------------------------------

const EXPORTED = new Set([...exportedMetricNames(), 'up']);
/** Labels each exported series carries (besides job and instance, which Prometheus adds). */
const LABELS_OF = new Map<string, readonly string[]>();
for (const m of Object.values(METRICS) as MetricSpec[]) {
  if (m.type === 'histogram') {
    LABELS_OF.set(`${m.name}_bucket`, [...m.labels, 'le']);
    LABELS_OF.set(`${m.name}_sum`, m.labels);
    LABELS_OF.set(`${m.name}_count`, m.labels);
  } else LABELS_OF.set(m.name, m.labels);
}
for (const name of [...DEFAULT_METRICS, 'up']) LABELS_OF.set(name, []);
const TARGET_LABELS = ['job', 'instance'];
/**
 * The label names any expression may use inside braces: the instance and target labels, `le`, the
 * enumerations keepwatch uses, and any other label the contract declares (so metrics added to
 * names.ts later need no change here). On top of this, each label must belong to its metric.
 */
const ALLOWED_LABELS = new Set([
  ...INSTANCE_LABELS,
  ...TARGET_LABELS,
  ...['le', 'state', 'reason', 'cause', 'from', 'to', 'vip', 'result', 'action'],
  ...(Object.values(METRICS) as MetricSpec[]).flatMap((m) => m.labels),
]);
/** Known values of enumerated labels: [metric or '*', label] -> values. */
const LABEL_VALUES: [string, string, readonly string[]][] = [
  ['keepwatch_vrrp_adverts_dropped_total', 'reason', DROP_REASONS],
  ['keepwatch_vrrp_transitions_total', 'cause', TRANSITION_CAUSES],
  ['keepwatch_vrrp_transitions_total', 'from', STATES],
  ['keepwatch_vrrp_transitions_total', 'to', STATES],
  ['keepwatch_vrrp_state', 'state', STATES],
  ['keepwatch_vrrp_election_duration_seconds_bucket', 'to', STATES],
  ['keepwatch_vrrp_election_duration_seconds_sum', 'to', STATES],
  ['keepwatch_vrrp_election_duration_seconds_count', 'to', STATES],
  ['keepwatch_config_reloads_total', 'result', ['success', 'failure']],
  ['keepwatch_split_brain_detections_total', 'source', DETECTION_SOURCES],
  ['keepwatch_guard_rejected_total', 'reason', REJECT_REASONS],
  ['keepwatch_guard_alert_pushes_total', 'result', ['ok', 'failed']],
  ['keepwatch_script_runs_total', 'result', RUN_RESULTS],
  ['keepwatch_notify_runs_total', 'result', NOTIFY_RESULTS],
  ['keepwatch_mail_sends_total', 'result', MAIL_RESULTS],
  ['keepwatch_track_file_read_failures_total', 'reason', TRACK_FILE_PROBLEMS],
];

interface Expression {
  readonly where: string;
  /** PromQL with Grafana variables substituted. */
  readonly expr: string;
  /** As written (for messages and the instance-label check). */
  readonly raw: string;
}

function allExpressions(): Expression[] {
  return [
    ...dashboardExpressions().map((e) => ({ where: `${e.file}: panel "${e.title}"`, expr: substituteGrafanaVars(e.expr), raw: e.expr })),
    ...ruleExpressions().map((e) => ({ where: `${e.file}: alert ${e.alert} (${e.where})`, expr: e.expr, raw: e.expr })),
  ];
}

/** Literal alternatives of a regex matcher value like "a|b|c", or undefined if it is a real regex. */
function literalAlternatives(re: string): string[] | undefined {
  return /^[A-Za-z0-9_.:-]+(\|[A-Za-z0-9_.:-]+)*$/.test(re) && !re.includes('.') ? re.split('|') : undefined;
}

/**
 * Problems with the label names/values of one expression (empty: fine). `series` is for the input
 * series of promtool tests, which carry every label of their metric (build_info's version...).
 */
function labelProblems(e: Expression, series = false): string[] {
  const problems: string[] = [];
  const parts = analyzePromql(e.expr);
  const usable = new Set<string>([...TARGET_LABELS, ...parts.createdLabels]);
  for (const sel of parts.selectors) {
    const own = sel.metric ? LABELS_OF.get(sel.metric) : undefined;
    for (const l of own ?? []) usable.add(l);
    for (const m of sel.matchers) {
      const allowed = new Set([...(own ?? []), ...TARGET_LABELS]);
      if ((!series && !ALLOWED_LABELS.has(m.label)) || (own && !allowed.has(m.label))) {
        problems.push(`label '${m.label}' is not a label of ${sel.metric ?? 'this selector'} (its labels: ${[...allowed].join(', ')})`);
      }
      for (const [metric, label, values] of LABEL_VALUES) {
        if (sel.metric !== metric || m.label !== label) continue;
        const given = m.op === '=' || m.op === '!=' ? [m.value] : literalAlternatives(m.value);
        for (const v of given ?? []) if (!values.includes(v)) problems.push(`${label}="${v}" on ${metric}: not one of ${values.join(', ')}`);
      }
      if (m.label === 'vrrp_instance' && /^[\w.-]+:\d+$/.test(m.value)) problems.push(`vrrp_instance="${m.value}" looks like a scrape target: did you mean instance?`);
    }
  }
  // `instance` is the scrape target (host:port) - a VRRP instance name there is a mix-up.
  for (const sel of selectorsIn(substituteGrafanaVars(e.raw.replace(/\$\{node(?::[^}]*)?\}|\$node\b/g, 'NODE_VAR:1')))) {
    for (const m of sel.matchers) {
      if (m.label === 'instance' && m.value !== '' && !/:|^\.\*$|^NODE_VAR/.test(m.value)) {
        problems.push(`instance="${m.value}" is not a scrape target (host:port): did you mean vrrp_instance?`);
      }
    }
  }
  for (const g of parts.groupingLabels) if (!usable.has(g)) problems.push(`grouping label '${g}' is not a label of any metric in the expression`);
  return problems;
}

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

function tool(name: string): boolean {
  const r = spawnSync(name, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return !r.error;
}
const HAVE_PROMTOOL = tool('promtool');
const HAVE_AMTOOL = tool('amtool');

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, error: r.error };
}

const rules: Rule[] = ruleFiles().flatMap(loadRules);
const alerts = rules.filter((r) => r.alert !== undefined);

// ------------------------------------------------------------------------------------------------
// The helpers themselves
// ------------------------------------------------------------------------------------------------

describe('PromQL helper', () => {
  test('metricNamesIn skips functions, keywords, labels, strings, numbers and durations', () => {
    assert.deepEqual(
      metricNamesIn('sum by (job, vip) (rate(foo_total{reason=~"a|b", job="x"}[5m] offset 1h)) > on (job) group_left (vip) bar * 1.5e3 or vector(0) unless baz @ start()'),
      ['foo_total', 'bar', 'baz'],
    );
    assert.deepEqual(metricNamesIn('histogram_quantile(0.99, sum without (instance) (rate(x_bucket[10m:1m]))) > bool Inf'), ['x_bucket']);
    assert.deepEqual(metricNamesIn('{__name__="by_name", job="j"} + label_replace(up, "reason", "x", "", "")'), ['by_name', 'up']);
    assert.deepEqual(metricNamesIn('count(x == 1) by (le) / sum(y) without (a)'), ['x', 'y']);
    assert.deepEqual(metricNamesIn('max_over_time(timestamp(a > 0 unless a offset 2m)[1h:1m])'), ['a']);
    assert.deepEqual(metricNamesIn('# a comment with metric_like words\nrecord:name:rate5m'), ['record:name:rate5m']);
  });

  test('label names, grouping labels and created labels', () => {
    const p = analyzePromql('label_replace(sum by (job, vrid) (rate(m{state="master", vrid!=""}[5m])), "reason", "x", "", "") > on (job) n');
    assert.deepEqual(p.selectors, [
      { metric: 'm', matchers: [{ label: 'state', op: '=', value: 'master' }, { label: 'vrid', op: '!=', value: '' }] },
      { metric: 'n', matchers: [] },
    ]);
    assert.deepEqual(groupingLabelsIn('sum by (job, vrid) (x) > on (job) ignoring (a) group_left (b) y'), ['job', 'vrid', 'a', 'b']);
    assert.deepEqual(p.createdLabels, ['reason']);
  });

  test('substituteGrafanaVars leaves plain PromQL', () => {
    assert.equal(
      substituteGrafanaVars('rate(x{job=~"$job", vrid=~"${vrid}", n=~"${node:regex}", o=~"[[old]]"}[$__rate_interval]) / $__range_s + increase(y[$__range])'),
      'rate(x{job=~".*", vrid=~".*", n=~".*", o=~".*"}[5m]) / 21600 + increase(y[6h])',
    );
  });

  test('templating and annotation-template queries', () => {
    assert.equal(templatingQueryExpression('label_values(keepwatch_vrrp_state{job=~"$job"}, vrid)'), 'keepwatch_vrrp_state{job=~"$job"}');
    assert.equal(templatingQueryExpression('label_values(job)'), undefined);
    assert.equal(templatingQueryExpression('query_result(topk(5, up))'), 'topk(5, up)');
    assert.deepEqual(templateQueries('x {{ range printf "m{job=%q,vip=%q} == 1" .Labels.job .Labels.vip | query | sortByLabel "instance" }}{{ end }} {{ with query "up" }}{{ end }}'), [
      'm{job=".*",vip=".*"} == 1',
      'up',
    ]);
  });
});

describe('YAML subset reader', () => {
  test('reads the constructs the alert files use', () => {
    const text = [
      '# comment',
      'groups:',
      '  - name: g # trailing comment',
      '    rules:',
      '      - alert: A',
      '        expr: |',
      '          up == 0',
      '            or vector(1)',
      '        for: 5m',
      '        labels: { severity: critical, n: "1:2" }',
      '        annotations:',
      '          d: >-',
      '            folded',
      '            text',
      '',
      '            new paragraph',
      "          s: 'it''s'",
      '          q: "a \\"b\\" \\u00e9"',
      'list:',
      '- [a, "b c", 3]',
      '- []',
      '- {}',
      'n: null',
      'b: false',
      'f: 1.5',
      'port: node1:11200',
    ].join('\n');
    assert.deepEqual(parseYaml(text), {
      groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up == 0\n  or vector(1)\n', for: '5m', labels: { severity: 'critical', n: '1:2' }, annotations: { d: 'folded text\nnew paragraph', s: "it's", q: 'a "b" é' } }] }],
      list: [['a', 'b c', 3], [], {}],
      n: null,
      b: false,
      f: 1.5,
      port: 'node1:11200',
    });
  });

  test('refuses what it does not understand', () => {
    for (const bad of ['a: &x 1', 'a: *x', 'a: !!str 1', 'a: yes', 'a: 1:30', 'a: [1, [2]]', 'a:\n\t- 1', 'a: b: c', 'a: "open', 'a: 1\na: 2', 'a:\n  b: 1\n c: 2', '- a\n---\n- b', 'a: plain\n  continued']) {
      assert.throws(() => parseYaml(bad), /./, JSON.stringify(bad));
    }
  });

  const python = spawnSync('python3', ['-c', 'import yaml'], { encoding: 'utf8' });
  test('agrees with PyYAML on the repository files', { skip: python.status === 0 ? false : 'python3-yaml not installed: cross-check skipped' }, () => {
    const files = [RULES_FILE, RULES_TEST_FILE, ALERTMANAGER_FILE];
    const r = spawnSync('python3', ['-c', 'import sys, json, yaml\nprint(json.dumps([yaml.safe_load(open(f)) for f in sys.argv[1:]]))', ...files], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const theirs = JSON.parse(r.stdout) as YamlValue[];
    files.forEach((f, i) => assert.deepEqual(parseYaml(readFileSync(f, 'utf8'), f), theirs[i], f));
  });
});

// ------------------------------------------------------------------------------------------------
// (a) metric names, (b) labels
// ------------------------------------------------------------------------------------------------

describe('dashboards and rules use the metric contract', () => {
  const exprs = allExpressions();

  test('there is something to check', () => {
    assert.ok(dashboardFiles().length >= 2, 'dashboards/*.json');
    assert.ok(dashboardExpressions().length > 20, 'dashboard expressions');
    assert.ok(alerts.length >= 10, 'alerting rules');
  });

  test('(a) every metric name is exported by keepwatch (or is up)', () => {
    const problems: string[] = [];
    for (const e of exprs) {
      let names: string[];
      try {
        names = metricNamesIn(e.expr);
      } catch (err) {
        problems.push(`${e.where}: cannot read the expression: ${(err as Error).message}`);
        continue;
      }
      if (names.length === 0) problems.push(`${e.where}: no metric at all in ${e.raw}`);
      for (const n of names) if (!EXPORTED.has(n)) problems.push(`${e.where}: '${n}' is not in exportedMetricNames() (src/observability/names.ts)`);
    }
    assert.deepEqual(problems, []);
  });

  test('(b) label names belong to their metric; label values are real', () => {
    const problems = exprs.flatMap((e) => labelProblems(e).map((p) => `${e.where}: ${p}`));
    assert.deepEqual(problems, []);
  });

  test('(b) the checks catch the usual mix-ups', () => {
    const probe = (expr: string) => labelProblems({ where: 'probe', expr: substituteGrafanaVars(expr), raw: expr });
    assert.match(probe('keepwatch_vrrp_state{instance="VI_1"}').join(), /did you mean vrrp_instance/);
    assert.match(probe('keepwatch_vrrp_state{vrrp_instance="node1:11200"}').join(), /did you mean instance/);
    assert.match(probe('keepwatch_capture_dropped_total{vrid="51"}').join(), /not a label of keepwatch_capture_dropped_total/);
    assert.match(probe('keepwatch_vrrp_adverts_dropped_total{reason="auth_mismatch"}').join(), /not one of/);
    assert.match(probe('keepwatch_vrrp_adverts_dropped_total{reason=~"auth-mismatch|bad-auth"}').join(), /bad-auth/);
    assert.match(probe('sum by (vip) (keepwatch_vrrp_priority)').join(), /grouping label 'vip'/);
    assert.match(probe('keepwatch_guard_rejected_total{reason="bad_signature"}').join(), /not one of/);
    assert.match(probe('keepwatch_script_runs_total{result=~"fail|failed"}').join(), /result="failed"/);
    assert.match(probe('keepwatch_track_weight{vrid="51"}').join(), /not a label of keepwatch_track_weight/);
    assert.match(probe('keepwatch_guard_held{interface="eth0"}').join(), /not a label of keepwatch_guard_held/);
    assert.deepEqual(probe('keepwatch_vrrp_state{instance=~"$node", vrrp_instance=~"$vrrp_instance", state="master"}'), []);
  });

  test('input series of the promtool tests follow the contract too', () => {
    const doc = parseYaml(readFileSync(RULES_TEST_FILE, 'utf8'), RULES_TEST_FILE) as Json;
    const problems: string[] = [];
    for (const t of doc.tests ?? []) {
      for (const s of t.input_series ?? []) {
        const e: Expression = { where: `${RULES_TEST_FILE.slice(ROOT.length)}: test "${t.name}"`, expr: s.series, raw: s.series };
        for (const n of metricNamesIn(e.expr)) if (!EXPORTED.has(n)) problems.push(`${e.where}: series of unknown metric '${n}'`);
        problems.push(...labelProblems(e, true).map((p) => `${e.where}: ${p}`));
        for (const sel of selectorsIn(e.expr)) {
          const own = LABELS_OF.get(sel.metric ?? '') ?? [];
          const have = new Set(sel.matchers.map((m) => m.label));
          for (const l of [...own, ...TARGET_LABELS]) if (!have.has(l)) problems.push(`${e.where}: series ${sel.metric} lacks label '${l}'`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  test('contract coverage (informational)', (t) => {
    const used = new Set(allExpressions().flatMap((e) => metricNamesIn(e.expr)));
    const unused = (Object.values(METRICS) as MetricSpec[]).map((m) => m.name).filter((n) => ![...used].some((u) => u === n || u.startsWith(`${n}_`)));
    t.diagnostic(unused.length ? `metrics on no dashboard or alert: ${unused.join(', ')}` : 'every contract metric is on a dashboard or in an alert');
  });
});

// ------------------------------------------------------------------------------------------------
// (c) dashboards
// ------------------------------------------------------------------------------------------------

describe('(c) dashboards are import-ready', () => {
  for (const path of dashboardFiles()) {
    const file = path.slice(ROOT.length);
    const d = loadDashboard(path);
    const vars: Json[] = d.templating?.list ?? [];
    const byName = new Map<string, Json>(vars.map((v) => [v.name, v]));
    const queryOf = (v: Json) => (typeof v?.query === 'string' ? v.query : v?.query?.query);

    test(`${file}: uid, title, schemaVersion, no __inputs`, () => {
      assert.match(String(d.uid), /^[A-Za-z0-9_-]{1,40}$/);
      assert.ok(typeof d.title === 'string' && d.title.length > 0);
      assert.ok(Number(d.schemaVersion) >= 38, `schemaVersion ${d.schemaVersion}`);
      assert.equal(d.__inputs, undefined, 'exported for sharing with __inputs: use the ${datasource} variable instead');
      assert.equal(d.id ?? null, null, 'a dashboard id ties the file to one Grafana instance');
    });

    test(`${file}: unique panel ids and a sane grid`, () => {
      const panels = allPanels(d).map((p) => p.panel);
      const ids = panels.map((p) => p.id);
      assert.ok(ids.every((id) => Number.isInteger(id) && id > 0), 'integer ids');
      assert.equal(new Set(ids).size, ids.length, `duplicate panel ids: ${ids.filter((id, i) => ids.indexOf(id) !== i)}`);
      const overlap = (group: Json[], where: string) => {
        for (const p of group) {
          const g = p.gridPos;
          assert.ok(g && g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24, `${where} panel ${p.id} gridPos`);
        }
        for (let i = 0; i < group.length; i++)
          for (let j = i + 1; j < group.length; j++) {
            const [a, b] = [group[i].gridPos, group[j].gridPos];
            const disjoint = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
            assert.ok(disjoint, `${where}: panels ${group[i].id} and ${group[j].id} overlap`);
          }
      };
      overlap(d.panels, 'top level');
      for (const r of d.panels.filter((p: Json) => p.type === 'row' && p.collapsed)) overlap(r.panels ?? [], `row "${r.title}"`);
    });

    test(`${file}: every panel, target, variable and annotation uses \${datasource}`, () => {
      const ds = byName.get('datasource');
      assert.ok(ds, 'a variable named datasource');
      assert.equal(ds.type, 'datasource');
      assert.equal(ds.query, 'prometheus');
      const problems: string[] = [];
      for (const { panel } of allPanels(d)) {
        if (panel.type === 'row') continue;
        if (panel.datasource?.uid !== '${datasource}') problems.push(`panel ${panel.id} "${panel.title}": datasource ${JSON.stringify(panel.datasource)}`);
        if (!Array.isArray(panel.targets) || panel.targets.length === 0) problems.push(`panel ${panel.id} "${panel.title}": no targets`);
        for (const t of panel.targets ?? []) {
          if (t.datasource?.uid !== '${datasource}') problems.push(`panel ${panel.id} "${panel.title}" target ${t.refId}: datasource ${JSON.stringify(t.datasource)}`);
          if (typeof t.expr !== 'string' || t.expr.trim() === '') problems.push(`panel ${panel.id} "${panel.title}" target ${t.refId}: no expr`);
        }
      }
      for (const v of vars) if (v.type === 'query' && v.datasource?.uid !== '${datasource}') problems.push(`variable ${v.name}: datasource ${JSON.stringify(v.datasource)}`);
      for (const a of d.annotations?.list ?? []) if (!a.builtIn && a.datasource?.uid !== '${datasource}') problems.push(`annotation ${a.name}: datasource ${JSON.stringify(a.datasource)}`);
      // Nothing else may name a concrete data source.
      const walk = (x: Json, at: string) => {
        if (Array.isArray(x)) x.forEach((y, i) => walk(y, `${at}[${i}]`));
        else if (x && typeof x === 'object') {
          for (const [k, v] of Object.entries(x)) {
            if (k === 'datasource' && v !== null) {
              const uid = typeof v === 'string' ? v : (v as Json).uid;
              if (!['${datasource}', '-- Grafana --'].includes(uid)) problems.push(`${at}.datasource: ${JSON.stringify(v)}`);
            }
            walk(v, `${at}.${k}`);
          }
        }
      };
      walk(d, '$');
      assert.deepEqual(problems, []);
    });

    test(`${file}: job and vrid variables; every variable used is defined`, () => {
      const job = byName.get('job');
      const vrid = byName.get('vrid');
      assert.equal(queryOf(job), 'label_values(keepwatch_build_info, job)');
      assert.equal(queryOf(vrid), 'label_values(keepwatch_vrrp_state{job=~"$job"}, vrid)');
      const exprs = [...dashboardExpressions().filter((e) => e.file === file).map((e) => e.expr), ...allPanels(d).flatMap(({ panel }) => (panel.targets ?? []).map((t: Json) => String(t.legendFormat ?? '')))];
      const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!)));
      for (const u of used) if (!u.startsWith('__')) assert.ok(byName.has(u), `$${u} is used but not defined`);
      for (const v of vars.filter((x) => x.type === 'query')) assert.ok(v.refresh === 1 || v.refresh === 2, `variable ${v.name} refreshes`);
    });
  }

  test('fleet: multi-value job/vrid, panels, link to the drill-down', () => {
    const d = loadDashboard(join(ROOT, 'dashboards/keepwatch-fleet.json'));
    const v = new Map<string, Json>(d.templating.list.map((x: Json) => [x.name, x]));
    for (const n of ['job', 'vrid']) assert.ok(v.get(n).multi && v.get(n).includeAll, `${n}: multi and All`);
    const types = new Set(allPanels(d).map((p) => p.panel.type));
    for (const t of ['table', 'state-timeline', 'timeseries', 'stat']) assert.ok(types.has(t), `a ${t} panel`);
    const text = JSON.stringify(d);
    for (const needle of ['histogram_quantile', 'keepwatch_vrrp_election_duration_seconds_bucket', 'keepwatch_vrrp_failover_duration_seconds_bucket', 'nodejs_eventloop_lag_p99_seconds', 'up{job=~\\"$job\\"}', 'keepwatch_vrrp_vip_present', 'keepwatch_capture_dropped_total', 'keepwatch_config_reloads_total', 'keepwatch_garp_sent_total'])
      assert.ok(text.includes(needle), `fleet uses ${needle}`);
    // The split-brain guard and tracking rows use every metric of those features.
    for (const m of Object.values(METRICS) as MetricSpec[]) {
      if (/^keepwatch_(split_brain|guard_|script_|track_|notify_|mail_)/.test(m.name)) assert.ok(text.includes(m.name), `fleet uses ${m.name}`);
    }
    const rows = allPanels(d).filter((p) => p.panel.type === 'row').map((p) => p.panel.title);
    for (const r of ['Split brain', 'Tracking']) assert.ok(rows.includes(r), `a "${r}" row`);
    for (const title of ['Split-brain flag per VRID and node', 'vrrp_script status per node']) {
      assert.equal(allPanels(d).find((p) => p.panel.title === title)?.panel.type, 'state-timeline', `"${title}" is a state timeline`);
    }
    const timeline = allPanels(d).find((p) => p.panel.type === 'state-timeline' && /state/i.test(p.panel.title));
    assert.ok(timeline?.panel.fieldConfig.defaults.mappings.length, 'state timeline with value mappings');
    assert.ok(d.links.some((l: Json) => String(l.url).includes('/d/keepwatch-instance/')), 'link to the drill-down');
  });

  test('both dashboards link the runbooks through their runbook_base_url variable (default: the rules\' default base)', () => {
    for (const file of ['dashboards/keepwatch-fleet.json', 'dashboards/keepwatch-instance.json']) {
      const d = loadDashboard(join(ROOT, file));
      const v = d.templating.list.find((x: Json) => x.name === 'runbook_base_url');
      assert.ok(v, `${file}: a runbook_base_url variable`);
      assert.equal(v.type, 'textbox');
      assert.equal(v.hide, 2, 'hidden from the variable bar');
      assert.equal(v.query, DEFAULT_RUNBOOK_BASE_URL);
      assert.equal(v.current.value, DEFAULT_RUNBOOK_BASE_URL);
      const link = d.links.find((l: Json) => l.title === 'Runbooks');
      assert.equal(link?.url, '${runbook_base_url}', `${file}: the Runbooks link uses the variable`);
      assert.ok(!JSON.stringify(d).includes('github.com/keepwatch'), `${file}: no link to a project that is not this one`);
    }
    assert.ok(!readFileSync(RULES_SOURCE, 'utf8').includes('github.com/keepwatch'), 'nor in the rules');
  });

  test('drill-down: vrrp_instance and node variables, link back to the fleet', () => {
    const d = loadDashboard(join(ROOT, 'dashboards/keepwatch-instance.json'));
    const v = new Map<string, Json>(d.templating.list.map((x: Json) => [x.name, x]));
    assert.match(queryOf2(v.get('vrrp_instance')), /^label_values\(keepwatch_vrrp_state\{.*\}, vrrp_instance\)$/);
    assert.match(queryOf2(v.get('node')), /^label_values\(keepwatch_vrrp_state\{.*\}, instance\)$/, 'node = the Prometheus instance label');
    assert.ok(d.links.some((l: Json) => String(l.url).includes('/d/keepwatch-fleet/')), 'link back to the fleet');
    const text = JSON.stringify(d);
    for (const needle of ['keepwatch_vrrp_advert_interval_seconds_bucket', 'keepwatch_vrrp_advert_interval_config_seconds', 'keepwatch_vrrp_master_down_interval_seconds', 'keepwatch_vrrp_address_list_mismatch_total', 'keepwatch_vip_repairs_total', 'keepwatch_vip_errors_total', 'keepwatch_vrrp_priority_zero_sent_total', 'keepwatch_vrrp_priority_zero_received_total', 'keepwatch_split_brain', 'keepwatch_split_brain_suspected', 'keepwatch_guard_held', 'keepwatch_guard_demotions_total', 'keepwatch_track_weight'])
      assert.ok(text.includes(needle), `drill-down uses ${needle}`);
    for (const e of dashboardExpressions().filter((x) => x.file.endsWith('keepwatch-instance.json') && x.title.includes(' / ') && !x.title.startsWith('Nodes'))) {
      if (/keepwatch_vrrp_|keepwatch_vip_|keepwatch_garp_|keepwatch_send_|keepwatch_split_brain(_suspected)?\b|keepwatch_guard_(held|demotions)|keepwatch_track_weight/.test(e.expr)) {
        assert.match(e.expr, /vrrp_instance=~"\$vrrp_instance"/, `${e.title}: filtered to the instance`);
      }
    }
  });
});

function queryOf2(v: Json): string {
  return String(typeof v?.query === 'string' ? v.query : v?.query?.query);
}

// ------------------------------------------------------------------------------------------------
// (d) promtool, (e) amtool
// ------------------------------------------------------------------------------------------------

describe('(d) promtool', { skip: HAVE_PROMTOOL ? false : 'promtool not installed (apt-get install prometheus): rule checks skipped' }, () => {
  test('promtool check rules alerts/keepwatch.rules.yml', () => {
    const r = run('promtool', ['check', 'rules', 'alerts/keepwatch.rules.yml']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  test('promtool test rules alerts/tests/keepwatch.rules.test.yml', () => {
    const r = run('promtool', ['test', 'rules', 'alerts/tests/keepwatch.rules.test.yml']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  test('every dashboard expression and annotation-template query is valid PromQL', () => {
    const exprs = [
      ...dashboardExpressions().map((e) => ({ where: `${e.file}: ${e.title}`, expr: substituteGrafanaVars(e.expr) })),
      ...ruleExpressions().filter((e) => e.where !== 'expr').map((e) => ({ where: `${e.file}: ${e.alert} ${e.where}`, expr: e.expr })),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'keepwatch-promql-'));
    try {
      const file = join(dir, 'exprs.rules.yml');
      const body = exprs.map((e, i) => `      - record: "keepwatch_check:expr_${i}"\n        expr: ${JSON.stringify(e.expr)}\n`).join('');
      writeFileSync(file, `groups:\n  - name: dashboard-expressions\n    rules:\n${body}`);
      const r = run('promtool', ['check', 'rules', file]);
      if (r.status !== 0) {
        const bad = [...r.out.matchAll(/expr_(\d+)/g)].map((m) => exprs[Number(m[1])]?.where);
        assert.fail(`promtool rejects: ${bad.join('; ') || '?'}\n${r.out}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('(e) amtool', { skip: HAVE_AMTOOL ? false : 'amtool not installed (apt-get install prometheus-alertmanager): Alertmanager checks skipped' }, () => {
  test('amtool check-config alerts/alertmanager.example.yml', () => {
    const r = run('amtool', ['check-config', 'alerts/alertmanager.example.yml']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  test('each severity routes to its own receiver', () => {
    const seen = new Set<string>();
    for (const severity of SEVERITIES) {
      const r = run('amtool', ['config', 'routes', 'test', '--config.file=alerts/alertmanager.example.yml', `severity=${severity}`, 'alertname=KeepwatchAgentDown', 'job=keepwatch', 'instance=node1:11200']);
      assert.equal(r.status, 0, r.out);
      const receiver = r.out.split('\n').find((l) => l.trim() !== '' && !l.startsWith('Warning'))!.trim();
      assert.match(receiver, new RegExp(severity), `severity=${severity} goes to ${receiver}`);
      seen.add(receiver);
    }
    assert.equal(seen.size, SEVERITIES.length);
  });
});

test('Alertmanager example: KeepwatchAgentDown inhibits the other alerts of the same instance', () => {
  const am = parseYaml(readFileSync(ALERTMANAGER_FILE, 'utf8'), ALERTMANAGER_FILE) as Json;
  const rule = (am.inhibit_rules ?? []).find((r: Json) => (r.source_matchers ?? []).some((m: string) => /alertname\s*=\s*"?KeepwatchAgentDown"?$/.test(m)));
  assert.ok(rule, 'an inhibit rule with source KeepwatchAgentDown');
  assert.ok(rule.equal.includes('instance') && rule.equal.includes('job'), 'equal: [job, instance]');
  assert.ok(rule.target_matchers.some((m: string) => m.includes('Keepwatch')), 'targets the keepwatch alerts');
  assert.ok(rule.target_matchers.some((m: string) => /alertname\s*!=\s*"?KeepwatchAgentDown"?$/.test(m)), 'but not itself');
});

// ------------------------------------------------------------------------------------------------
// (f) alerts: labels, annotations, runbooks, tests
// ------------------------------------------------------------------------------------------------

describe('(f) every alert is actionable', () => {
  test('names, severity, summary, templated description, runbook_url, for', () => {
    const problems: string[] = [];
    const names = alerts.map((a) => a.alert!);
    if (new Set(names).size !== names.length) problems.push(`duplicate alert names: ${names.filter((n, i) => names.indexOf(n) !== i)}`);
    for (const a of alerts) {
      const p = (msg: string) => problems.push(`${a.file}: ${a.alert}: ${msg}`);
      if (!/^Keepwatch[A-Z][A-Za-z0-9]*$/.test(a.alert!)) p('name must be CamelCase with the Keepwatch prefix');
      if (!SEVERITIES.includes(a.labels.severity ?? '')) p(`labels.severity '${a.labels.severity}' not in ${SEVERITIES.join('|')}`);
      if (!a.annotations.summary?.trim()) p('no annotations.summary');
      if (!a.annotations.description?.trim()) p('no annotations.description');
      else if (!/\$labels\.\w+|\.Labels\.\w+/.test(a.annotations.description)) p('the description names no label value ({{ $labels.x }})');
      const url = a.annotations.runbook_url ?? '';
      if (url !== runbookUrlTemplate(a.alert!)) p(`runbook_url must be ${runbookUrlTemplate(a.alert!)}, is '${url}'`);
      const runbook = join(ROOT, 'alerts/runbooks', `${a.alert}.md`);
      if (!existsSync(runbook)) p(`runbook alerts/runbooks/${a.alert}.md is missing`);
      else {
        const md = readFileSync(runbook, 'utf8');
        if (!md.startsWith(`# ${a.alert}\n`)) p('the runbook starts with another title');
        for (const h of ['## Meaning', '## Impact', '## Likely causes', '## How to confirm', '## How to fix']) if (!md.includes(h)) p(`runbook has no '${h}' section`);
        if (!md.includes(`**Severity:** ${a.labels.severity}`)) p('runbook states another severity');
      }
      if (a.for === undefined) p("no 'for:' (write 'for: 0m' when the window is in the expression)");
      if (!/^\d+[smh]$/.test(a.for ?? '0m')) p(`odd for: ${a.for}`);
    }
    assert.deepEqual(problems, []);
  });

  test('every alert has a promtool case where it fires (with severity) and one where it must not', () => {
    const doc = parseYaml(readFileSync(RULES_TEST_FILE, 'utf8'), RULES_TEST_FILE) as Json;
    assert.deepEqual(doc.rule_files, ['../keepwatch.rules.yml']);
    const fires = new Map<string, Json[]>();
    const quiet = new Set<string>();
    for (const t of doc.tests ?? []) {
      for (const c of t.alert_rule_test ?? []) {
        const exp: Json[] = c.exp_alerts ?? [];
        if (exp.length === 0) quiet.add(c.alertname);
        else fires.set(c.alertname, [...(fires.get(c.alertname) ?? []), ...exp]);
      }
    }
    const problems: string[] = [];
    for (const a of alerts) {
      const cases = fires.get(a.alert!) ?? [];
      if (cases.length === 0) problems.push(`${a.alert}: no case where it fires`);
      for (const c of cases) {
        if (c.exp_labels?.severity !== a.labels.severity) problems.push(`${a.alert}: a firing case expects severity ${c.exp_labels?.severity}`);
        if (!c.exp_annotations?.summary || !c.exp_annotations?.description) problems.push(`${a.alert}: a firing case does not check summary and description`);
        const identity = Object.keys(c.exp_labels ?? {}).filter((k) => k !== 'severity');
        if (identity.length === 0) problems.push(`${a.alert}: a firing case checks no identifying label`);
      }
      if (!quiet.has(a.alert!)) problems.push(`${a.alert}: no case where it must not fire`);
    }
    for (const name of [...fires.keys(), ...quiet]) if (!alerts.some((a) => a.alert === name)) problems.push(`tests mention unknown alert ${name}`);
    assert.deepEqual(problems, []);
  });

  test('the healthy fleet case checks that every alert stays quiet', () => {
    const doc = parseYaml(readFileSync(RULES_TEST_FILE, 'utf8'), RULES_TEST_FILE) as Json;
    const healthy = (doc.tests ?? []).find((t: Json) => t.name === 'healthy fleet');
    assert.ok(healthy, 'a test named "healthy fleet"');
    const quiet = new Set((healthy.alert_rule_test ?? []).filter((c: Json) => (c.exp_alerts ?? []).length === 0).map((c: Json) => c.alertname));
    assert.deepEqual(alerts.map((a) => a.alert!).filter((n) => !quiet.has(n)), []);
  });

  test('the alert the agents push themselves: runbook, no rule of that name, backstop inhibited while it fires', () => {
    // What the agent sends, with the default base and with one the user set (--runbook-base-url).
    const push = { labels: { vrrp_instance: 'VI_1', vrid: '51', node: 'node1' }, summary: 's', description: 'd', firing: true, startsAt: new Date(0) };
    const sent = (base: string) => (new AlertmanagerPusher('http://am', () => {}, base).body(push, new Date(0))[0] as { labels: Record<string, string>; annotations: Record<string, string> });
    const name = sent(DEFAULT_RUNBOOK_BASE_URL).labels.alertname;
    const severity = sent(DEFAULT_RUNBOOK_BASE_URL).labels.severity;
    assert.equal(name, SPLIT_BRAIN_ALERT, `alertname in ${AGENT_ALERT_SOURCE}`);
    assert.ok(severity, 'a severity');
    assert.equal(sent(DEFAULT_RUNBOOK_BASE_URL).annotations.runbook_url, `${DEFAULT_RUNBOOK_BASE_URL}/${name}.md`);
    assert.equal(sent('https://wiki.example/runbooks/').annotations.runbook_url, `https://wiki.example/runbooks/${name}.md`, 'a trailing slash is not doubled');
    assert.ok(!alerts.some((a) => a.alert === name), `no Prometheus rule may be named ${name}: the agents push it to Alertmanager`);
    const runbook = join(ROOT, 'alerts/runbooks', `${name}.md`);
    assert.ok(existsSync(runbook), `alerts/runbooks/${name}.md (the agents' alert links to it)`);
    const md = readFileSync(runbook, 'utf8');
    assert.ok(md.startsWith(`# ${name}\n`), 'runbook title');
    for (const h of ['## Meaning', '## Impact', '## Likely causes', '## How to confirm', '## How to fix']) assert.ok(md.includes(h), `runbook has '${h}'`);
    assert.ok(md.includes(`**Severity:** ${severity}`), 'runbook states the severity of the push');
    // Prometheus' backstop: another name, same severity, and its runbook leads to this one.
    const backstop = alerts.find((a) => metricNamesIn(a.expr).includes(METRICS.splitBrain.name));
    assert.ok(backstop, `a rule on ${METRICS.splitBrain.name}`);
    assert.equal(backstop.labels.severity, severity);
    assert.ok(readFileSync(join(ROOT, 'alerts/runbooks', `${backstop.alert}.md`), 'utf8').includes(`(${name}.md`), `${backstop.alert}.md links to ${name}.md`);
    assert.ok(md.includes(`${backstop.alert}.md`), `${name}.md links to ${backstop.alert}.md`);
    // Alertmanager example: the push inhibits the backstop for the same conflict.
    const am = parseYaml(readFileSync(ALERTMANAGER_FILE, 'utf8'), ALERTMANAGER_FILE) as Json;
    const rule = (am.inhibit_rules ?? []).find((r: Json) => (r.source_matchers ?? []).some((m: string) => new RegExp(`alertname\\s*=\\s*"?${name}"?$`).test(m)));
    assert.ok(rule, `an inhibit rule with source ${name}`);
    assert.ok(rule.target_matchers.some((m: string) => m.includes(backstop.alert!)), `it targets ${backstop.alert}`);
    assert.ok(rule.equal.includes('vrid') && rule.equal.includes('vrrp_instance'), 'equal: [vrrp_instance, vrid]');
  });

  test('cross-node alerts group by job and their identity, never by node', () => {
    const byName = new Map(alerts.map((a) => [a.alert!, a]));
    const vip = byName.get('KeepwatchVipOnMultipleNodes');
    assert.ok(vip, 'KeepwatchVipOnMultipleNodes');
    assert.match(vip.expr, /count by \(job, vip\)/);
    assert.match(vip.expr, /keepwatch_vrrp_vip_present/);
    const noMaster = byName.get('KeepwatchNoMaster');
    assert.ok(noMaster, 'KeepwatchNoMaster');
    assert.match(noMaster.expr, /by \(job, vrid\)/);
    const splitBrain = byName.get('KeepwatchSplitBrainFlagged');
    assert.ok(splitBrain, 'KeepwatchSplitBrainFlagged');
    assert.match(splitBrain.expr, /by \(job, vrrp_instance, vrid\)/);
  });
});

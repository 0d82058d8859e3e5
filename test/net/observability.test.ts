/**
 * Observability on real agents in namespaces (root only): the metric contract on a live scrape
 * and values moving through a failover; a real Prometheus scraping the agents and accepting every
 * PromQL expression of dashboards/ and alerts/; OTLP/HTTP export of a `vrrp.election` span with
 * its children; /healthz 503 with a reason in FAULT; a flight-recorder file tshark can read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLab, waitFor, sleep, fastInstance, hears, VIP, type NetEnv } from './helpers.js';
import { METRICS, INSTANCE_LABELS, type MetricSpec } from '../../src/observability/names.js';
import { dashboardExpressions, ruleExpressions, substituteGrafanaVars } from '../helpers/promql.js';

const RECEIVER = fileURLToPath(new URL('./otlp-receiver.mjs', import.meta.url));
const havePrometheus = spawnSync('prometheus', ['--version']).status === 0;
const haveTshark = spawnSync('tshark', ['-v']).status === 0;

interface Scrape {
  types: Map<string, string>;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

function scrape(env: NetEnv, host: string): Scrape {
  const r = env.lab.exec(host, 'curl', ['-s', '--max-time', '3', 'http://127.0.0.1:11200/metrics']);
  assert.equal(r.status, 0, `scrape of ${host} failed: ${r.stderr}`);
  const types = new Map<string, string>();
  const samples: Scrape['samples'] = [];
  for (const line of r.stdout.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) types.set(t[1]!, t[2]!);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

function value(s: Scrape, name: string, match: Record<string, string>): number {
  return s.samples.filter((x) => x.name === name && Object.entries(match).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);
}

function curlJson(env: NetEnv, host: string, url: string): { code: number; body: unknown } {
  const r = env.lab.exec(host, 'curl', ['-s', '--max-time', '5', '-w', '\n%{http_code}', url]);
  const lines = r.stdout.trimEnd().split('\n');
  const code = Number(lines.pop());
  return { code, body: JSON.parse(lines.join('\n') || 'null') };
}

test('metric contract on a live agent, values move through a failover; /healthz and /v1/state; flight recorder', async () => {
  await withLab(async (env) => {
    const cap = join(env.dir, 'flight');
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] });
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(100, { password: undefined })] }, ['--capture-dir', cap]);
    r1.start();
    r2.start();
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    await sleep(1000);

    const before = scrape(env, 'r2');
    for (const spec of Object.values(METRICS) as MetricSpec[]) {
      // These appear once something happened (or need a configured guard peer/witness).
      const later: string[] = [
        METRICS.failoverDuration.name, METRICS.flightRecordings.name, METRICS.vipErrors.name, METRICS.httpRequests.name,
        METRICS.guardPeerUp.name, METRICS.guardWitnessUp.name, METRICS.guardAlertPushes.name,
        // Only with vrrp_script / track_* configured (the tracking tests check them).
        METRICS.scriptStatus.name, METRICS.scriptRuns.name, METRICS.scriptDuration.name, METRICS.trackWeight.name, METRICS.trackFileReadFailures.name,
        // Only with virtual_routes/rules or static_* configured (the routes test checks them).
        METRICS.routeErrors.name, METRICS.routeRepairs.name,
      ];
      // Only with track_process, notify_fifo, bfd_instance or virtual_server configured (notify,
      // bfd and lvs tests check them).
      const configured = /^keepwatch_(track_process_|process_scans_|notify_fifo_|bfd_|lvs_)/.test(spec.name);
      if (later.includes(spec.name) || configured) continue;
      assert.equal(before.types.get(spec.name), spec.type, `${spec.name} has type ${spec.type}`);
      const names = spec.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((x) => spec.name + x) : [spec.name];
      const series = before.samples.filter((x) => names.includes(x.name));
      assert.ok(series.length > 0, `${spec.name} is exported`);
      for (const x of series) {
        const labelNames = Object.keys(x.labels).filter((l) => l !== 'le').sort();
        assert.deepEqual(labelNames, [...spec.labels].sort(), `${spec.name} labels`);
        assert.ok(!('instance' in x.labels) && !('job' in x.labels), 'never instance/job labels');
      }
    }
    for (const l of ['nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes']) assert.ok(before.types.has(l), `${l} (default collectors)`);
    const id = { vrrp_instance: 'VI_1', vrid: '51', interface: 'eth0' };
    assert.equal(value(before, METRICS.state.name, { ...id, state: 'backup' }), 1);
    assert.equal(value(before, METRICS.masterPriority.name, id), 150);
    assert.ok(value(before, METRICS.advertsReceived.name, id) > 5);
    assert.ok(value(before, `${METRICS.advertInterval.name}_count`, id) > 5, 'inter-arrival observed from pcap timestamps');
    assert.equal(value(before, METRICS.vipPresent.name, { ...id, vip: VIP }), 0);

    const h1 = curlJson(env, 'r2', 'http://127.0.0.1:11200/healthz?state=master');
    assert.equal(h1.code, 503, 'a backup is not master');
    assert.equal(curlJson(env, 'r1', 'http://127.0.0.1:11200/healthz?state=master&instance=VI_1').code, 200);
    assert.equal(curlJson(env, 'r1', 'http://127.0.0.1:11200/healthz?state=master&instance=nope').code, 503);
    assert.equal(curlJson(env, 'r1', 'http://127.0.0.1:11200/healthz?bogus=1').code, 400);
    assert.equal(curlJson(env, 'r1', 'http://127.0.0.1:11200/nope').code, 404);
    const state = curlJson(env, 'r2', 'http://127.0.0.1:11200/v1/state').body as { instances: Record<string, unknown>[] };
    const vi = state.instances[0]!;
    assert.equal(vi.state, 'backup');
    assert.deepEqual((vi.master as { address: string }).address, '10.251.0.1');
    assert.ok(!JSON.stringify(state).includes('auth_pass'));

    // Failover: r1 dies, r2 takes over.
    await r1.signal('SIGKILL');
    await waitFor('r2 master', () => r2.state === 'master' && env.lab.holders(VIP).includes('r2'), 5000);
    await sleep(600);
    const after = scrape(env, 'r2');
    assert.equal(value(after, METRICS.state.name, { ...id, state: 'master' }), 1);
    // Deltas: r2 may also have been master for a moment at start-up, before r1 was up.
    const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    assert.equal(delta(METRICS.transitions.name, { ...id, from: 'backup', to: 'master', cause: 'master-down-timer' }), 1);
    assert.equal(delta(`${METRICS.failoverDuration.name}_count`, id), 1);
    const failoverS = delta(`${METRICS.failoverDuration.name}_sum`, id);
    assert.ok(failoverS > 0.3 && failoverS < 2, `failover duration ${failoverS} s`);
    assert.ok(value(after, METRICS.advertsSent.name, id) > value(before, METRICS.advertsSent.name, id));
    assert.ok(value(after, METRICS.garpSent.name, id) > 0);
    assert.equal(value(after, METRICS.vipPresent.name, { ...id, vip: VIP }), 1);
    assert.equal(value(after, METRICS.masterPriority.name, id), 100);

    // The flight recorder wrote the takeover, with the adverts that led to it.
    await waitFor('a backup-master recording', () => existsSync(cap) && readdirSync(cap).some((f) => f.includes('backup-master_master-down-timer')), 3000);
    // The newest takeover (r2 may also have been master for a moment at start-up).
    const file = join(cap, readdirSync(cap).filter((f) => f.includes('backup-master_master-down-timer')).sort().at(-1)!);
    if (haveTshark) {
      const out = spawnSync('tshark', ['-r', file, '-Y', 'vrrp', '-T', 'fields', '-e', 'ip.src', '-e', 'vrrp.prio'], { encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      const rows = out.stdout.trim().split('\n').map((l) => l.split('\t'));
      assert.ok(rows.some(([src, prio]) => src === '10.251.0.1' && prio === '150'), `the old master adverts are in the recording ${file}: ${readdirSync(cap).join(', ')}\n${out.stdout}`);
      assert.ok(rows.some(([src]) => src === '10.251.0.2'), 'so is the takeover');
    }

    // FAULT: /healthz says 503 and why.
    env.lab.setLink('r2', false);
    await waitFor('r2 fault', () => r2.state === 'fault', 3000);
    const h = curlJson(env, 'r2', 'http://127.0.0.1:11200/healthz');
    assert.equal(h.code, 503);
    const body = h.body as { status: string; reasons: { instance: string; cause: string }[] };
    assert.equal(body.status, 'unhealthy');
    assert.match(body.reasons[0]!.cause, /FAULT: interface eth0 down/);
    assert.equal(body.reasons[0]!.instance, 'VI_1');
  });
});

test('OTLP/HTTP export: a vrrp.election span with vrrp.vip.add and vrrp.garp children for a failover', async () => {
  await withLab(async (env) => {
    const out = join(env.dir, 'otlp.jsonl');
    writeFileSync(out, '');
    env.lab.spawn('client', process.execPath, [RECEIVER, '4318', out]);
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://10.251.0.10:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_SERVICE_NAME: 'keepwatch' };
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] });
    const r2 = env.router('r2', 'keepwatch', { routerId: 'node-b', instances: [fastInstance(100)] }, [], otel);
    r1.start();
    r2.start();
    // r2 must have heard r1 (its start-up BACKUP is not enough), or its takeover has no peer.
    await waitFor('r1 master, r2 backup hearing r1', () => r1.state === 'master' && hears(env, 'r2', '10.251.0.1'), 10_000, 100);
    await r1.signal('SIGKILL');
    await waitFor('r2 master', () => r2.state === 'master', 5000);
    type Span = { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes: { key: string; value: Record<string, unknown> }[]; events?: { name: string }[] };
    const spans = (): { spans: Span[]; resource: unknown[] } => {
      const all: Span[] = [];
      const resource: unknown[] = [];
      for (const line of readFileSync(out, 'utf8').split('\n').filter(Boolean)) {
        const j = JSON.parse(line) as { resourceSpans: { resource: { attributes: unknown[] }; scopeSpans: { spans: Span[] }[] }[] };
        for (const rs of j.resourceSpans) {
          resource.push(...rs.resource.attributes);
          for (const ss of rs.scopeSpans) all.push(...ss.spans);
        }
      }
      return { spans: all, resource };
    };
    const attr = (s: Span, k: string) => Object.values(s.attributes.find((a) => a.key === k)?.value ?? {})[0];
    // The takeover after the kill: to master, with r1 as the peer it last heard (r2 may also have
    // been master for a moment at start-up, before r1 was up: that span has no peer).
    const isTakeover = (s: Span) => s.name === 'vrrp.election' && attr(s, 'vrrp.state.to') === 'master' && attr(s, 'vrrp.peer.address') === '10.251.0.1';
    await waitFor('the takeover election span exported', () => spans().spans.some(isTakeover), 12_000).catch((err: Error) => {
      const seen = spans().spans.map((s) => `${s.name} ${attr(s, 'vrrp.state.from')}->${attr(s, 'vrrp.state.to')} ${attr(s, 'vrrp.cause')} peer=${attr(s, 'vrrp.peer.address')}`);
      throw new Error(`${err.message}; spans exported: ${seen.join('; ')}`);
    });
    const { spans: all, resource } = spans();
    const election = all.find(isTakeover)!;
    assert.equal(attr(election, 'vrrp.cause'), 'master-down-timer');
    assert.equal(attr(election, 'vrrp.instance'), 'VI_1');
    assert.equal(String(attr(election, 'vrrp.vrid')), '51');
    assert.equal(attr(election, 'vrrp.state.from'), 'backup');
    assert.equal(attr(election, 'vrrp.peer.address'), '10.251.0.1');
    assert.equal(String(attr(election, 'vrrp.peer.priority')), '150');
    assert.ok(election.events?.some((e) => e.name === 'vrrp.advert.last_heard'), 'an event for the last advert heard');
    const children = all.filter((s) => s.parentSpanId === election.spanId && s.traceId === election.traceId);
    assert.ok(children.some((s) => s.name === 'vrrp.vip.add' && attr(s, 'vrrp.vip') === VIP), 'vrrp.vip.add child');
    assert.ok(children.some((s) => s.name === 'vrrp.garp' && String(attr(s, 'vrrp.garp.count')) !== '0'), 'vrrp.garp child');
    const res = JSON.stringify(resource);
    assert.match(res, /"service.name".*"keepwatch"/);
    assert.match(res, /"vrrp.router_id".*"node-b"/);
    assert.match(res, /"host.name"/);
  });
});

test('a real Prometheus scrapes the agents and accepts every PromQL expression of dashboards/ and alerts/', { skip: !havePrometheus && 'prometheus not installed' }, async () => {
  await withLab(async (env) => {
    const r1 = env.router('r1', 'keepwatch', { instances: [fastInstance(150)] });
    const r2 = env.router('r2', 'keepwatch', { instances: [fastInstance(100)] });
    r1.start();
    r2.start();
    const promDir = join(env.dir, 'prom');
    mkdirSync(promDir, { recursive: true });
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - ${fileURLToPath(new URL('../../alerts/keepwatch.rules.yml', import.meta.url))}\nscrape_configs:\n  - job_name: keepwatch\n    static_configs:\n      - targets: ['10.251.0.1:11200', '10.251.0.2:11200']\n`,
    );
    env.lab.spawn('client', 'prometheus', [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, '--web.listen-address=127.0.0.1:9090', '--log.level=warn']);
    await waitFor('r1 master, r2 backup', () => r1.state === 'master' && r2.state === 'backup', 10_000);
    const q = (expr: string) => curlJson(env, 'client', `http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(expr)}`);
    await waitFor('both targets up', () => {
      try {
        const r = q('sum(up{job="keepwatch"})').body as { data?: { result: { value: [number, string] }[] } };
        return r.data?.result[0]?.value[1] === '2';
      } catch {
        return false;
      }
    }, 20_000, 250);
    // A failover, so histograms and transition counters have data.
    await r1.signal('SIGTERM');
    await waitFor('r2 master', () => r2.state === 'master', 5000);
    await sleep(2500);
    const exprs = [...dashboardExpressions().map((d) => ({ where: `${d.file}: ${d.title}`, expr: d.expr })), ...ruleExpressions().map((r) => ({ where: `${r.file}: ${r.alert}`, expr: r.expr }))];
    assert.ok(exprs.length > 20, `found ${exprs.length} expressions`);
    for (const { where, expr } of exprs) {
      const e = substituteGrafanaVars(expr);
      const r = q(e);
      const body = r.body as { status: string; error?: string };
      assert.equal(body.status, 'success', `${where}: Prometheus refused ${e}: ${body.error}`);
    }
    // The series the agents export are there, with the contract labels.
    const names = (curlJson(env, 'client', 'http://127.0.0.1:9090/api/v1/label/__name__/values').body as { data: string[] }).data;
    for (const m of [METRICS.state, METRICS.transitions, METRICS.advertsSent, METRICS.vipPresent]) assert.ok(names.includes(m.name), `${m.name} scraped`);
    const series = q(`${METRICS.state.name}{state="master"} == 1`).body as { data: { result: { metric: Record<string, string> }[] } };
    assert.equal(series.data.result.length, 1, 'exactly one master in Prometheus');
    for (const l of INSTANCE_LABELS) assert.ok(l in series.data.result[0]!.metric);
    assert.equal(series.data.result[0]!.metric.instance, '10.251.0.2:11200');
  });
});

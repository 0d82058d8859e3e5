/**
 * The command line, as a user meets it (the real entry point, in a child process): every
 * command's --help prints its usage and exits 0, a bad option is one line and exit 2 (never a
 * stack trace), `-t` exits as keepalived 2.2.7's does (0 clean, non-zero for warnings: 5, its
 * KEEPALIVED_EXIT_CONFIG_TEST; 1 for errors, keepwatch's "would not start"), and each keepalived
 * flag is accepted or refused with its reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_PORT } from '../../src/version.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `keepwatch ARGS` from the sources (without root: nothing here needs it). */
function keepwatch(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const noStack = (r: Run) => assert.ok(!/\n\s+at /.test(r.stderr) && !/ERR_PARSE_ARGS/.test(r.stderr), `no stack trace:\n${r.stderr}`);

test('every command has --help (and -h): usage on stdout, exit 0, no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['--help'], /^Usage:\n  keepwatch \[-f FILE\] \[options\]/],
    [['-h'], /^Usage:/],
    [['status', '--help'], /^Usage: keepwatch status \[--listen HOST:PORT\] \[--json\]/],
    [['status', '-h'], /^Usage: keepwatch status/],
    [['flood', '--help'], /^Usage: keepwatch flood --source ADDR/],
    [['lab', '--help'], /^Usage: keepwatch lab/],
  ];
  const runs = await Promise.all(cases.map(([args]) => keepwatch(args)));
  runs.forEach((r, i) => {
    const [args, usage] = cases[i]!;
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, usage, args.join(' '));
    assert.equal(r.stderr, '', args.join(' '));
  });
  assert.match(runs[2]!.stdout, new RegExp(`default 127\\.0\\.0\\.1:${DEFAULT_PORT}`), 'status says where it looks');
  assert.match(runs[0]!.stdout, new RegExp(`default 0\\.0\\.0\\.0:${DEFAULT_PORT}`));
  // Every flag keepalived lists has a line in keepwatch's help: what it does here, or why not.
  const ka = spawnSync('keepalived', ['--help'], { encoding: 'utf8' });
  if (ka.status === 0 || ka.stderr) {
    const longs = [...new Set([...`${ka.stdout}${ka.stderr}`.matchAll(/--([a-z_-]+)/g)].map((m) => m[1]!))];
    assert.ok(longs.length > 25, `keepalived --help lists ${longs.length} flags`);
    const missing = longs.filter((f) => !runs[0]!.stdout.includes(`--${f}`));
    assert.deepEqual(missing, [], "keepalived flags keepwatch's --help does not mention");
  }
});

test('a bad option: one line naming it, exit 2, no stack trace, for the agent and every subcommand', async () => {
  const cases = [['--bogus'], ['status', '-x'], ['flood', '--nope'], ['lab', '--peer']];
  const runs = await Promise.all(cases.map((a) => keepwatch(a)));
  runs.forEach((r, i) => {
    assert.equal(r.status, 2, `${cases[i]!.join(' ')}: ${r.stderr}`);
    noStack(r);
    assert.match(r.stderr.split('\n')[0]!, /^keepwatch( status| flood| lab)?: (Unknown option|Option '--peer)/);
  });
});

test("keepalived's flags: refused ones say why in one line and exit 2; accepted ones are taken", async () => {
  const refused: [string[], RegExp][] = [
    [['-x'], /-x\/--snmp: not supported: keepwatch has no SNMP agent/],
    [['-V'], /-V\/--dont-release-vrrp: not supported: keepwatch always releases its VIPs/],
    [['-s', 'blue'], /-s\/--namespace: not supported: run keepwatch inside the namespace/],
    [['-S', '9'], /-S\/--log-facility '9': expected 0-7, local0-7, user or daemon/],
    [['-u', 'abc'], /--umask 'abc': expected an octal mask/],
  ];
  const runs = await Promise.all(refused.map(([a]) => keepwatch(a)));
  runs.forEach((r, i) => {
    assert.equal(r.status, 2, `${refused[i]![0].join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, refused[i]![1]);
    noStack(r);
  });
  // --signum prints the signal of a function, as keepalived's does.
  // JSON: keepalived's SIGRTMIN+2 would kill a Node process; keepwatch writes keepalived.json with SIGUSR1.
  const [data, json, clear] = await Promise.all(['DATA', 'JSON', 'STATS_CLEAR'].map((f) => keepwatch([`--signum=${f}`])));
  assert.equal(data!.stdout, '10\n');
  assert.equal(json!.stdout, '10\n');
  assert.equal(clear!.status, 1);
  assert.match(clear!.stderr, /no STATS_CLEAR/);
  // Accepted keepalived flags combine with -t (they change nothing there).
  const dir = mkdtempSync(join(tmpdir(), 'kw-cli-'));
  try {
    const conf = join(dir, 'ok.conf');
    writeFileSync(conf, 'vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100/24\n    }\n}\n');
    const r = await keepwatch(['-n', '-l', '-D', '-D', '-P', '-S', 'local0', '-G', '-B', '-X', '-I', '-R', '-d', '-a', '-e', '-m', '-i', 'node1', '-c', '/x', '-b', '/y', '--all', '-p', join(dir, 'p'), '-r', join(dir, 'r'), '-u', '022', '-t', '-f', conf]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /configuration OK \(1 instance\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-t: exit 0 clean, 5 with warnings only (as keepalived 2.2.7), 1 with errors; --config-test=FILE writes the findings there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-cli-'));
  try {
    const instance = (extra: string) => `vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n${extra}    virtual_ipaddress {\n        10.0.0.100/24\n    }\n}\n`;
    const clean = join(dir, 'clean.conf');
    const warn = join(dir, 'warn.conf');
    const bad = join(dir, 'bad.conf');
    writeFileSync(clean, instance(''));
    // keepalived 2.2.7 exits 5 for this file too ("Disabling track script chk since not found").
    writeFileSync(warn, `vrrp_script chk {\n    script "/nonexistent/check.sh"\n}\n${instance('    track_script {\n        chk\n    }\n')}`);
    writeFileSync(bad, instance('    state Master\n'));
    const log = join(dir, 'findings.txt');
    const [c, w, b, wl] = await Promise.all([keepwatch(['-t', '-f', clean]), keepwatch(['-t', '-f', warn]), keepwatch(['--config-test', '-f', bad]), keepwatch([`--config-test=${log}`, '-f', warn])]);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stderr, '');
    assert.equal(w.status, 5, w.stderr);
    assert.match(w.stderr, /warn\.conf:2:12: warning: vrrp_script chk: '\/nonexistent\/check\.sh' does not exist/);
    assert.match(w.stdout, /configuration OK \(1 instance, 1 warning: exit 5, as keepalived -t\)/);
    assert.equal(b.status, 1, b.stderr);
    assert.match(b.stderr, /bad\.conf:5:11: error: invalid state 'Master'/);
    assert.equal(wl.status, 5);
    assert.equal(wl.stderr, '', 'the findings went to the file');
    assert.match(readFileSync(log, 'utf8'), /warning: vrrp_script chk/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-t --migrate: per keyword what keepwatch does differently; exit 4 when behaviour changes, 0 when not, 1 when refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kw-migrate-'));
  try {
    const body = (global: string) => `global_defs {\n${global}}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.100/24\n    }\n}\n`;
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const changes = write('changes.conf', body('    enable_snmp_vrrp\n    vrrp_no_swap\n    vrrp_startup_delay 5\n'));
    const calm = write('calm.conf', body('    vrrp_no_swap\n'));
    const refused = write('refused.conf', body('    vrrp_no_swapp\n'));
    const [a, b, c, bare] = await Promise.all([
      keepwatch(['-t', '--migrate', '-f', changes]),
      keepwatch(['-t', '--migrate', '-f', calm]),
      keepwatch(['-t', '--migrate', '-f', refused]),
      keepwatch(['--migrate', '-f', calm]),
    ]);
    assert.equal(a!.status, 4, a!.stderr);
    assert.match(a!.stdout, /changes\.conf:2:5: CHANGES BEHAVIOUR: enable_snmp_vrrp: keepwatch has no SNMP agent/);
    assert.match(a!.stdout, /changes\.conf:3:5: same behaviour: vrrp_no_swap: /);
    assert.match(a!.stdout, /changes\.conf:4:5: acted on differently: vrrp_startup_delay: the instances stay in INIT/);
    assert.match(a!.stdout, /migration check: 0 refused, 1 changing behaviour, 1 acted on differently, 1 not acted on without effect/);
    assert.equal(b!.status, 0, b!.stdout);
    assert.equal(c!.status, 1);
    assert.match(c!.stdout, /refused\.conf:2:5: REFUSED: unknown keyword 'vrrp_no_swapp' in global_defs; did you mean 'vrrp_no_swap'\?/);
    assert.equal(bare!.status, 2);
    assert.match(bare!.stderr, /--migrate goes with -t/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

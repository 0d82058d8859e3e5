/**
 * The runtime and the package. First what needs neither root nor dpkg (here because test/unit/
 * mirrors src/ rooms): Node 24 is what runs and ships, the bundle still starts on the machine's
 * older Node (cheap: no native module loads for --version and -t), the man page documents every
 * option --help lists, and the guard example is a valid guard file.
 *
 * Then the Debian package on this machine (root; skipped without dpkg-deb, or when a keepwatch package
 * is already installed, which this test would replace): `npm run package` builds it, `dpkg -i`
 * installs it beside Debian's keepalived (no package conflict: the units conflict instead), the
 * INSTALLED keepwatch checks every seed config exactly as the tree does, and an agent started from
 * the installed files in a namespace, with only the unit's capabilities, becomes master, holds the
 * VIP, serves /healthz and releases the VIP on SIGTERM. Then `dpkg --purge` leaves nothing behind:
 * no file, no /etc/keepwatch (not even a guard.conf the operator wrote), no /var/lib/keepwatch, no
 * enabled unit. The purge runs in `finally`, whatever fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLab, waitFor, fastInstance, VIP, type NetEnv } from './helpers.js';
import { renderConfig } from '../../src/lab/routers.js';
import { DEFAULT_GUARD, parseGuardConfig } from '../../src/guard/config.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const DEB = join(ROOT, 'dist', `keepwatch_${VERSION}_amd64.deb`);
const SEEDS = join(ROOT, 'test', 'fixtures', 'seed-configs');
const UNIT = '/usr/lib/systemd/system/keepwatch.service';
/** Directories only keepwatch owns: gone after a purge. */
const OWN_DIRS = ['/usr/lib/keepwatch', '/usr/share/keepwatch', '/usr/share/doc/keepwatch', '/etc/keepwatch', '/var/lib/keepwatch'];
const LISTEN = '127.0.0.1:11200';
const MACHINE_NODE = '/usr/bin/node';
const BUNDLE = join(ROOT, 'dist', 'keepwatch.mjs');

const run = (cmd: string, args: readonly string[], timeoutMs = 60_000): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
const packageState = (name: string): string => run('dpkg-query', ['-W', '-f=${Status}', name]).stdout;
/** Whether dpkg has the package in any state but not-installed (half-installed and config-files count). */
const present = (name: string): boolean => !/^$|not-installed$/.test(packageState(name));

const haveDpkgDeb = run('dpkg-deb', ['--version']).status === 0;
const alreadyInstalled = haveDpkgDeb && present('keepwatch');
const skip = !haveDpkgDeb
  ? 'dpkg-deb not installed'
  : alreadyInstalled
    ? 'a keepwatch package is installed on this machine; this test would replace and purge it (dpkg --purge keepwatch first)'
    : false;

function httpGet(env: NetEnv, path: string): { code: number; body: string } {
  const r = env.lab.exec('r1', 'curl', ['-s', '--max-time', '2', '-w', '\n%{http_code}', `http://${LISTEN}${path}`]);
  const lines = r.stdout.trimEnd().split('\n');
  return { code: Number(lines.pop()), body: lines.join('\n') };
}

function stateOf(env: NetEnv): string | undefined {
  try {
    return (JSON.parse(httpGet(env, '/v1/state').body) as { instances: { state: string }[] }).instances[0]?.state;
  } catch {
    return undefined;
  }
}

/** The unit's CapabilityBoundingSet as setpriv's --bounding-set argument (`-all,+net_raw,...`). */
function unitBoundingSet(): string {
  const caps = [...readFileSync(UNIT, 'utf8').matchAll(/^CapabilityBoundingSet=(.*)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
  assert.ok(caps.length > 0, 'the unit sets CapabilityBoundingSet');
  return ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
}

/** Compares dotted versions: negative when a < b. */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

test('Node 24 LTS: engines, the pinned runtime, the build target and @types/node agree, and this suite runs on it', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; scripts: Record<string, string>; devDependencies: Record<string, string> };
  const pin = run('bash', ['packaging/node-runtime.sh', '--version']).stdout.trim();
  const major = pin.split('.')[0]!;
  assert.equal(major, '24');
  assert.equal(pkg.engines.node, `>=${major}`);
  assert.match(pkg.scripts.build!, new RegExp(`--target=node${major}\\b`));
  assert.match(pkg.devDependencies['@types/node']!, new RegExp(`^\\^${major}\\.`));
  assert.ok(compareVersions(process.versions.node, pin) >= 0, `the suite runs on Node ${process.versions.node}, not below the pin ${pin} (bash .ci/setup installs it)`);
});

const machineNode = existsSync(MACHINE_NODE) ? run(MACHINE_NODE, ['-v']).stdout.trim() : '';
test(`the bundle still starts on the machine's older Node (${MACHINE_NODE} ${machineNode || 'missing'})`, {
  skip: !machineNode ? `${MACHINE_NODE} missing` : Number(machineNode.slice(1).split('.')[0]) >= 24 ? `${MACHINE_NODE} is not older than 24` : !existsSync(BUNDLE) ? 'no dist/keepwatch.mjs (npm run build)' : false,
}, () => {
  assert.equal(run(MACHINE_NODE, [BUNDLE, '--version']).stdout.trim(), `keepwatch ${VERSION}`);
  const t = run(MACHINE_NODE, [BUNDLE, '-t', '-f', join(SEEDS, '000-master.conf')]);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /configuration OK \(1 instance\)/);
});

test('the man page documents every option that keepwatch and its commands list in --help, with the same default port', () => {
  const man = readFileSync(join(ROOT, 'packaging', 'keepwatch.8.md'), 'utf8');
  const cli = join(ROOT, 'src', 'cli.mjs');
  const help = run(process.execPath, [cli, '--help']).stdout;
  const missing: string[] = [];
  for (const [command, text] of [['keepwatch', help], ...['status', 'lab', 'flood'].map((c) => [`keepwatch ${c}`, run(process.execPath, [cli, c, '--help']).stdout])] as const) {
    assert.match(text, /--help/, `${command} --help prints its usage`);
    for (const opt of new Set(text.match(/--[a-z][a-z0-9_-]*[a-z0-9]/g) ?? [])) if (!man.includes(`**${opt}**`)) missing.push(`${command} ${opt}`);
  }
  assert.deepEqual(missing, [], 'options in --help but not in packaging/keepwatch.8.md');
  const port = /default 0\.0\.0\.0:(\d+)/.exec(help)?.[1];
  assert.ok(port, '--help names the default listen address');
  assert.ok(man.includes(`*0.0.0.0:${port}*`) && man.includes(`*127.0.0.1:${port}*`), `the man page names port ${port}`);
  const md2man = spawnSync('go-md2man', [], { input: man, encoding: 'utf8' });
  if (!md2man.error) assert.match(md2man.stdout, /^\.TH KEEPWATCH 8 /m, 'go-md2man renders it');
});

test('the guard example is a valid guard file with the defaults, and so is every setting it shows commented out', () => {
  const file = join(ROOT, 'packaging', 'guard.conf.example');
  const text = readFileSync(file, 'utf8');
  const secret = () => Buffer.from('0123456789abcdef0123456789abcdef');
  const plain = parseGuardConfig(text, file, secret);
  assert.deepEqual(plain.diagnostics, []);
  assert.deepEqual([plain.config?.intervalMs, plain.config?.holdDownMs, plain.config?.unknownPeerPolicy, plain.config?.peers], [DEFAULT_GUARD.intervalMs, DEFAULT_GUARD.holdDownMs, DEFAULT_GUARD.unknownPeerPolicy, []]);
  const all = parseGuardConfig(text.replace(/^(\s*)#(?=[a-z_]+ )/gm, '$1'), file, secret);
  assert.deepEqual(all.diagnostics, []);
  assert.ok(all.config?.witness && all.config.secret && all.config.peers.length === 1 && all.config.alertmanagerUrl && all.config.sources.has('peer'), 'witness, secret, peer, alertmanager and detect all set');
});

test('the Debian package: builds, installs beside keepalived, runs from the installed files, purges clean', { skip, timeout: 15 * 60_000 }, async (t) => {
  const t0 = Date.now();
  const build = run('npm', ['run', '-s', 'package'], 10 * 60_000);
  assert.equal(build.status, 0, `npm run package failed:\n${build.stdout.slice(-3000)}\n${build.stderr.slice(-3000)}`);
  t.diagnostic(`${build.stdout.trimEnd().split('\n').at(-1)} (build ${Math.round((Date.now() - t0) / 1000)} s)`);

  const files = run('dpkg-deb', ['--contents', DEB]).stdout.split('\n').filter((l) => l && !l.startsWith('d'))
    .map((l) => l.slice(l.indexOf('./') + 1).replace(/ -> .*$/, ''));
  for (const f of ['/usr/sbin/keepwatch', '/usr/lib/keepwatch/bin/node', '/usr/lib/keepwatch/dist/keepwatch.mjs', '/usr/lib/keepwatch/src/cli.mjs', '/usr/lib/keepwatch/package.json',
    '/usr/lib/keepwatch/node_modules/pcap/build/Release/pcap_binding.node', '/usr/lib/keepwatch/node_modules/raw-socket/build/Release/raw.node', UNIT,
    '/etc/keepwatch/guard.conf.example', '/etc/default/keepwatch', '/usr/share/man/man8/keepwatch.8.gz', '/usr/share/doc/keepwatch/copyright',
    '/usr/share/keepwatch/alerts/keepwatch.rules.yml', '/usr/share/keepwatch/dashboards/keepwatch-fleet.json']) {
    assert.ok(files.includes(f), `the package contains ${f}`);
  }
  assert.deepEqual(files.filter((f) => /\/(obj\.target|\.deps)\/|\.d\.ts$|\/nan\//.test(f)), [], 'no build leftovers');
  // A keepalived user can switch and switch back: no package relation with keepalived but Suggests.
  for (const field of ['Conflicts', 'Breaks', 'Replaces', 'Provides']) assert.equal(run('dpkg-deb', ['-f', DEB, field]).stdout.trim(), '', `no ${field}`);
  assert.equal(run('dpkg-deb', ['-f', DEB, 'Version']).stdout.trim(), VERSION);

  const keepalivedBefore = packageState('keepalived');
  let installed = false;
  try {
    const inst = run('dpkg', ['-i', DEB], 5 * 60_000);
    installed = true;
    assert.equal(inst.status, 0, `dpkg -i failed:\n${inst.stdout}\n${inst.stderr}`);
    assert.match(readFileSync(UNIT, 'utf8'), /^Conflicts=keepalived\.service$/m, 'the unit, not the package, conflicts with keepalived');

    // The shipped runtime and the installed entry points.
    const pin = run('bash', ['packaging/node-runtime.sh', '--version']).stdout.trim();
    assert.equal(run('/usr/lib/keepwatch/bin/node', ['-v']).stdout.trim(), `v${pin}`);
    assert.equal(run('/usr/sbin/keepwatch', ['--version']).stdout.trim(), `keepwatch ${VERSION}`);
    assert.equal(run('/usr/lib/keepwatch/bin/node', ['/usr/lib/keepwatch/src/cli.mjs', '--version']).stdout.trim(), `keepwatch ${VERSION}`, "the lab's launcher runs the bundle");
    if (run('man', ['--version']).status === 0) assert.equal(run('man', ['-w', 'keepwatch']).stdout.trim(), '/usr/share/man/man8/keepwatch.8.gz');

    // Every seed config: the installed program answers exactly as the tree's bundle does.
    const seeds = readdirSync(SEEDS).filter((f) => f.endsWith('.conf')).sort();
    assert.ok(seeds.length >= 17);
    for (const s of seeds) {
      const file = join(SEEDS, s);
      const got = run('/usr/sbin/keepwatch', ['-t', '-f', file]);
      const tree = run(process.execPath, [join(ROOT, 'dist', 'keepwatch.mjs'), '-t', '-f', file]);
      assert.doesNotMatch(got.stderr, /: error:/, `${s}: no errors`);
      assert.match(got.stdout, /configuration OK/, `${s}: accepted`);
      assert.deepEqual([got.status, got.stdout, got.stderr], [tree.status, tree.stdout, tree.stderr], `${s}: the installed keepwatch -t answers as the tree does`);
      if (got.stderr === '') assert.equal(got.status, 0, `${s}: no warnings, exit 0`);
    }

    // An agent from the installed files, in a namespace, with only the unit's capabilities.
    await withLab(async (env) => {
      const conf = join(env.dir, 'r1.conf');
      writeFileSync(conf, renderConfig({ instances: [fastInstance(150)] }));
      const out: string[] = [];
      const agent = env.lab.spawn('r1', 'setpriv', [`--bounding-set=${unitBoundingSet()}`, '/usr/sbin/keepwatch', '-f', conf, '--listen', LISTEN]);
      agent.stdout?.on('data', (b: Buffer) => out.push(b.toString()));
      agent.stderr?.on('data', (b: Buffer) => out.push(b.toString()));
      const exited = new Promise<number | null>((r) => agent.once('exit', (code) => r(code)));
      try {
        await waitFor('the installed agent is master', () => stateOf(env) === 'master', 15_000, 100);
        await waitFor('r1 holds the VIP', () => env.lab.holders(VIP).join() === 'r1', 5000);
        const h = httpGet(env, '/healthz');
        assert.deepEqual([h.code, (JSON.parse(h.body) as { status: string }).status], [200, 'ok']);
        // The wrapper execs: SIGTERM reaches the agent, which releases the VIP and exits 0.
        agent.kill('SIGTERM');
        assert.equal(await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 5000))]), 0);
        assert.deepEqual(env.lab.holders(VIP), []);
      } catch (err) {
        process.stderr.write(`--- installed agent output ---\n${out.join('').split('\n').slice(-30).join('\n')}\n`);
        throw err;
      }
    });

    // What a purge must also take away: an enabled unit, the state directory, the operator's guard file.
    if (run('systemctl', ['--version']).status === 0) assert.equal(run('systemctl', ['enable', 'keepwatch.service']).status, 0);
    mkdirSync('/var/lib/keepwatch', { recursive: true });
    writeFileSync('/var/lib/keepwatch/state', 'x');
    copyFileSync('/etc/keepwatch/guard.conf.example', '/etc/keepwatch/guard.conf');
    const purge = run('dpkg', ['--purge', 'keepwatch'], 5 * 60_000);
    installed = purge.status !== 0;
    assert.equal(purge.status, 0, `dpkg --purge failed:\n${purge.stdout}\n${purge.stderr}`);
    assert.equal(present('keepwatch'), false, 'dpkg forgot the package');
    assert.deepEqual(files.filter((f) => existsSync(f)), [], 'no file of the package is left');
    assert.deepEqual(OWN_DIRS.filter((d) => existsSync(d)), [], 'no directory of keepwatch is left');
    assert.equal(existsSync('/etc/systemd/system/multi-user.target.wants/keepwatch.service'), false, 'the unit is disabled');
    assert.equal(packageState('keepalived'), keepalivedBefore, "keepalived's package is untouched");
  } finally {
    if (installed) run('dpkg', ['--purge', 'keepwatch'], 5 * 60_000);
  }
});

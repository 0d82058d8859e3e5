/**
 * SystemClock's precise timers (the timer wheel): order, never early, cancellation, timers set
 * by a callback, a throwing callback. Real time on a loopback-free unit: behaviour only, with
 * generous bounds (timing figures belong to bench/scale.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SystemClock } from '../../../src/adapters/clock.js';

const CLOCK = fileURLToPath(new URL('../../../src/adapters/clock.ts', import.meta.url));

const settle = (clock: SystemClock, ms = 2000): Promise<void> =>
  new Promise((resolve, reject) => {
    const t0 = Date.now();
    const look = (): void => {
      if (clock.pendingPrecise === 0) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`${clock.pendingPrecise} precise timers still pending`));
      else setTimeout(look, 5);
    };
    look();
  });

test('precise timers fire in deadline order (ties in the order set), never before their deadline', async () => {
  const clock = new SystemClock();
  const fired: { name: string; earlyMs: number }[] = [];
  const at = (name: string, delayMs: number): void => {
    const deadline = clock.now() + delayMs;
    clock.setTimer(delayMs, () => fired.push({ name, earlyMs: deadline - clock.now() }), { precise: true });
  };
  at('c', 30);
  at('a', 10);
  at('b1', 20);
  at('b2', 20);
  at('zero', 0);
  await settle(clock);
  assert.deepEqual(fired.map((f) => f.name), ['zero', 'a', 'b1', 'b2', 'c']);
  for (const f of fired) assert.ok(f.earlyMs <= 0, `${f.name} fired ${f.earlyMs} ms early`);
});

test('255 timers set together all fire once, and a cancelled one never', async () => {
  const clock = new SystemClock();
  const count = new Map<number, number>();
  const handles = Array.from({ length: 255 }, (_, i) => clock.setTimer(5 + (i % 7) * 0.1, () => count.set(i, (count.get(i) ?? 0) + 1), { precise: true }));
  clock.clearTimer(handles[100]!);
  clock.clearTimer(handles[100]!); // twice: no effect
  await settle(clock);
  assert.equal(count.size, 254);
  assert.equal(count.get(100), undefined);
  assert.ok([...count.values()].every((n) => n === 1));
});

test('a timer set by a callback for "now" fires on a later wake-up, not in an endless loop', async () => {
  const clock = new SystemClock();
  let n = 0;
  const again = (): void => {
    if (++n < 50) clock.setTimer(0, again, { precise: true });
  };
  clock.setTimer(1, again, { precise: true });
  let turns = 0;
  const counter = setInterval(() => turns++, 0);
  await settle(clock);
  clearInterval(counter);
  assert.equal(n, 50);
  assert.ok(turns > 0, 'the event loop turned while the chain ran');
});

test('many cancelled timers (down timers restarted on every advert) are dropped from the wheel', async () => {
  const clock = new SystemClock();
  let fired = 0;
  for (let i = 0; i < 5000; i++) clock.clearTimer(clock.setTimer(60_000, () => fired++, { precise: true }));
  assert.equal(clock.pendingPrecise, 0);
  const kept = clock.setTimer(2, () => fired++, { precise: true });
  assert.equal(clock.pendingPrecise, 1);
  await settle(clock);
  assert.equal(fired, 1);
  clock.clearTimer(kept); // after firing: no effect
  assert.equal(clock.pendingPrecise, 0);
});

test('a throwing callback does not stop the others of its wake-up, and the error is still uncaught', () => {
  // In a child: an uncaught exception must reach the process (main.ts's fail-safe stop).
  const script = `
    const { SystemClock } = await import(${JSON.stringify(CLOCK)});
    const clock = new SystemClock();
    const seen = [];
    process.on('uncaughtException', (e) => { console.log(JSON.stringify({ seen, error: e.message })); process.exit(0); });
    clock.setTimer(3, () => seen.push('a'), { precise: true });
    clock.setTimer(3, () => { throw new Error('boom'); }, { precise: true });
    clock.setTimer(3, () => seen.push('c'), { precise: true });
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout.trim()), { seen: ['a', 'c'], error: 'boom' });
});

test('ordinary timers still run, and clearTimer stops them', async () => {
  const clock = new SystemClock();
  let a = 0;
  let b = 0;
  clock.setTimer(1, () => a++);
  clock.clearTimer(clock.setTimer(1, () => b++));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(a, 1);
  assert.equal(b, 0);
});

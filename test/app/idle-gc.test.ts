/**
 * app/idle-gc.ts on a hand-driven timer: one collection after a burst once a whole tick passed
 * without a request, none while requests keep coming, none while nothing happened, and at most one
 * per two ticks whatever the timing of the requests; under load, a regular collection per tick
 * while the heap is above its ceiling.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { idleCollector, type IdleCollection, type IdleCollectorOptions } from '../../app/idle-gc.ts';

function driven(overrides: Partial<IdleCollectorOptions> = {}) {
  let tick: (() => void) | null = null;
  let unrefs = 0;
  let cleared = 0;
  let collections = 0;
  const reports: IdleCollection[] = [];
  let clock = 0;
  let rss = 300;
  const collector = idleCollector({
    collect: () => {
      collections++;
      clock += 70;
      rss = 140;
    },
    idleMs: 2_000,
    onCollected: (report) => reports.push(report),
    setInterval: (fn, ms) => {
      assert.equal(ms, 2_000);
      tick = fn;
      return { unref: () => unrefs++ };
    },
    clearInterval: () => cleared++,
    now: () => clock,
    rss: () => rss,
    ...overrides,
  });
  return {
    collector,
    tick: () => tick!(),
    get collections() {
      return collections;
    },
    reports,
    get unrefs() {
      return unrefs;
    },
    get cleared() {
      return cleared;
    },
  };
}

test('A burst is collected once, after a whole tick without requests, and reported with its pause and RSS', () => {
  const d = driven();
  assert.equal(d.unrefs, 1, 'the tick never keeps the process alive');
  d.collector.activity();
  d.collector.activity();
  d.tick(); // requests came during this tick: still busy
  assert.equal(d.collections, 0);
  d.tick(); // a whole tick without a request: the burst is over
  assert.equal(d.collections, 1);
  assert.deepEqual(d.reports, [{ ms: 70, rssBefore: 300, rssAfter: 140 }]);
  d.tick();
  d.tick();
  assert.equal(d.collections, 1, 'still idle: nothing new to collect');
  d.collector.activity();
  d.tick();
  d.tick();
  assert.equal(d.collections, 2, 'a new burst is collected too');
  d.collector.stop();
  assert.equal(d.cleared, 1);
});

test('Never under load: a request in every tick means no collection, however long it lasts', () => {
  const d = driven();
  for (let i = 0; i < 1000; i++) {
    d.collector.activity();
    d.tick();
  }
  assert.equal(d.collections, 0);
});

test('A server that never got a request is never collected', () => {
  const d = driven();
  for (let i = 0; i < 10; i++) d.tick();
  assert.equal(d.collections, 0);
});

test('As the attacker: requests timed to end a burst at every chance cause at most one collection per two ticks (idleMs of silence each)', () => {
  const d = driven();
  let ticks = 0;
  for (let i = 0; i < 100; i++) {
    d.collector.activity();
    d.tick();
    d.tick();
    ticks += 2;
  }
  assert.equal(d.collections, 100);
  assert.ok(d.collections <= ticks / 2);
  // One request per tick instead is never idle, never collected: the test above.
});

test('Under load, a heap above the ceiling gets one regular collection per tick, a heap at or below it none; idle ticks keep their one reducing collection', () => {
  const MiB = 1024 * 1024;
  let heap = 120 * MiB;
  let underLoad = 0;
  const d = driven({ underLoad: { heapCeiling: 80 * MiB, collect: () => underLoad++ }, heapTotal: () => heap });
  for (let i = 0; i < 10; i++) {
    d.collector.activity();
    d.tick();
  }
  assert.equal(underLoad, 10, 'one per tick while the heap stays above the ceiling');
  assert.equal(d.collections, 0, 'never the memory-reducing one under load');
  heap = 80 * MiB;
  d.collector.activity();
  d.tick();
  assert.equal(underLoad, 10, 'at the ceiling: none');
  heap = 120 * MiB;
  d.tick(); // a whole tick without a request: the burst is over
  assert.equal(d.collections, 1);
  assert.equal(underLoad, 10, 'an idle tick collects once, the reducing way, whatever the heap');
  d.tick();
  assert.equal(underLoad, 10, 'and idle ticks after it nothing');
});

test('As the attacker: however many requests come in a tick, a heap above the ceiling costs one collection per tick, no more', () => {
  let underLoad = 0;
  const d = driven({ underLoad: { heapCeiling: 1, collect: () => underLoad++ }, heapTotal: () => 2 });
  for (let t = 0; t < 50; t++) {
    for (let i = 0; i < 10_000; i++) d.collector.activity();
    d.tick();
  }
  assert.equal(underLoad, 50);
});

test('Misuse throws TypeError at construction', () => {
  assert.throws(() => idleCollector({ collect: undefined as unknown as () => void, idleMs: 2_000 }), TypeError);
  for (const heapCeiling of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => idleCollector({ collect: () => {}, idleMs: 2_000, underLoad: { heapCeiling, collect: () => {} } }), TypeError, String(heapCeiling));
  }
  assert.throws(() => idleCollector({ collect: () => {}, idleMs: 2_000, underLoad: { heapCeiling: 1, collect: 'gc' as unknown as () => void } }), TypeError);
  for (const idleMs of [0, 99, 1.5, Number.NaN, -1, Number.POSITIVE_INFINITY]) {
    assert.throws(() => idleCollector({ collect: () => {}, idleMs }), TypeError, String(idleMs));
  }
});

test('With the real timer, the tick is unref\'d: a process holding only a running collector exits', () => {
  const module = new URL('../../app/idle-gc.ts', import.meta.url).href;
  const script = `import { idleCollector } from ${JSON.stringify(module)}; idleCollector({ collect() {}, idleMs: 60000 }).activity();`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000, encoding: 'utf8' });
  assert.equal(result.signal, null, 'killed at the timeout: the tick kept the process alive');
  assert.equal(result.status, 0, result.stderr);
});

test('With --expose-gc, a busy process whose heap is above the ceiling really collects (V8 reports major GCs), and one under it does not', () => {
  const module = new URL('../../app/idle-gc.ts', import.meta.url).href;
  const script = (ceiling: number) => `
    import { EventEmitter } from 'node:events';
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    import { collectAfterBursts } from ${JSON.stringify(module)};
    let majors = 0;
    new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; }).observe({ entryTypes: ['gc'] });
    const server = new EventEmitter();
    const idle = collectAfterBursts(server, { idleMs: 100, heapCeiling: ${ceiling} });
    const busy = setInterval(() => server.emit('request'), 10);
    setTimeout(() => { clearInterval(busy); idle.stop(); setTimeout(() => process.stdout.write(String(majors)), 50); }, 1000);`;
  const run = (ceiling: number) => {
    const result = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script(ceiling)], { timeout: 30_000, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    return Number(result.stdout);
  };
  // Ten ticks of 100 ms under load: a 1-byte ceiling asks for a collection on (nearly) every one.
  assert.ok(run(1) >= 5, 'a heap above the ceiling is collected under load');
  assert.equal(run(1024 * 1024 * 1024), 0, 'a heap under the ceiling is left to V8');
});

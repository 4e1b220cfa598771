/**
 * lib/read-batch: the coalescing of reads that the SQLite and PostgreSQL stores put in front of
 * getSession. What it must guarantee: one `loadMany` per turn of the event loop, each caller gets
 * the value of its own key, no read is answered by a load that started before the read was asked
 * for (a logout that completed is never answered with the session it ended), and a failure reaches
 * every caller of the batch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ReadBatch } from '../src/lib/read-batch.ts';

/** A ReadBatch over a Map, recording every loadMany call's keys. */
function batchOver(data: Map<string, string>, maxKeys = 100) {
  const calls: string[][] = [];
  const batch = new ReadBatch<string>(async (keys) => {
    calls.push([...keys]);
    return new Map(keys.filter((key) => data.has(key)).map((key) => [key, data.get(key) as string]));
  }, maxKeys);
  return { batch, calls };
}

describe('ReadBatch', () => {
  it('answers every load of one turn with one loadMany of the distinct keys, each caller with its own value or null', async () => {
    const { batch, calls } = batchOver(new Map([['a', 'A'], ['b', 'B']]));
    const got = await Promise.all([batch.load('a'), batch.load('b'), batch.load('a'), batch.load('missing')]);
    assert.deepEqual(got, ['A', 'B', 'A', null]);
    assert.deepEqual(calls, [['a', 'b', 'missing']]);
  });

  it('sends loads of later turns in later batches', async () => {
    const { batch, calls } = batchOver(new Map([['a', 'A']]));
    assert.equal(await batch.load('a'), 'A');
    assert.equal(await batch.load('a'), 'A');
    assert.deepEqual(calls, [['a'], ['a']]);
  });

  it('never answers a load with a batch that was sent before the load was asked for (a completed write is always seen)', async () => {
    const data = new Map([['s', 'session']]);
    let release: () => void = () => {};
    const calls: string[][] = [];
    const batch = new ReadBatch<string>(async (keys) => {
      calls.push([...keys]);
      const snapshot = new Map(keys.filter((key) => data.has(key)).map((key) => [key, data.get(key) as string]));
      await new Promise<void>((resolve) => (release = resolve)); // the first batch is in flight…
      return snapshot;
    }, 100);
    const early = batch.load('s');
    await nextTurn(); // …sent with the row still there
    data.delete('s'); // a logout completes
    const late = batch.load('s'); // a request after it
    release();
    assert.equal(await early, 'session');
    await nextTurn();
    release();
    assert.equal(await late, null, 'the later read got its own batch, sent after the delete');
    assert.deepEqual(calls, [['s'], ['s']]);
  });

  it('sends a batch as soon as it holds maxKeys keys and starts the next one', async () => {
    const data = new Map(Array.from({ length: 7 }, (_, i) => [`k${i}`, `v${i}`] as [string, string]));
    const { batch, calls } = batchOver(data, 3);
    const got = await Promise.all([...data.keys()].map((key) => batch.load(key)));
    assert.deepEqual(got, [...data.values()]);
    assert.deepEqual(calls, [['k0', 'k1', 'k2'], ['k3', 'k4', 'k5'], ['k6']]);
  });

  it('a repeated key does not count towards maxKeys', async () => {
    const { batch, calls } = batchOver(new Map([['a', 'A'], ['b', 'B']]), 2);
    assert.deepEqual(await Promise.all([batch.load('a'), batch.load('a'), batch.load('a'), batch.load('b')]), ['A', 'A', 'A', 'B']);
    assert.deepEqual(calls, [['a', 'b']]);
  });

  it('rejects every load of a failed batch with its error, and the next turn starts afresh', async () => {
    let fail = true;
    const error = new Error('database down');
    const batch = new ReadBatch<string>(async (keys) => {
      if (fail) throw error;
      return new Map(keys.map((key) => [key, key.toUpperCase()]));
    }, 100);
    const results = await Promise.allSettled([batch.load('a'), batch.load('b'), batch.load('a')]);
    assert.deepEqual(results, [
      { status: 'rejected', reason: error },
      { status: 'rejected', reason: error },
      { status: 'rejected', reason: error },
    ]);
    fail = false;
    assert.equal(await batch.load('a'), 'A');
  });

  it('turns a loadMany that throws instead of rejecting into rejections', async () => {
    const batch = new ReadBatch<string>(() => {
      throw new Error('thrown');
    }, 100);
    await assert.rejects(batch.load('a'), /thrown/);
  });

  it("still answers while a test framework's fake timers replace setImmediate", async (t) => {
    const { batch } = batchOver(new Map([['a', 'A']]));
    t.mock.timers.enable({ apis: ['setImmediate'] });
    try {
      assert.equal(await batch.load('a'), 'A');
    } finally {
      t.mock.timers.reset();
    }
  });

  it('refuses a maxKeys that is not a positive integer (TypeError)', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
      assert.throws(() => new ReadBatch<string>(async () => new Map(), bad), TypeError);
    }
  });
});

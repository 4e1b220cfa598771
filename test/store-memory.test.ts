/**
 * The in-memory test store runs the same conformance suite as the real stores, so tests built on
 * it exercise the real semantics.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeCounterStoreConformance, describeStoreConformance, describeTokenStoreConformance, MemoryStore } from '../src/testing/index.ts';

describeStoreConformance('MemoryStore', {
  makeStore: async (clock) => ({ store: new MemoryStore({ now: clock.now }) }),
});

describe('MemoryStore', () => {
  it('rejects every call once closed, like a dead backend, with ERR_LATCHKEY_STORE_UNAVAILABLE (R-01)', async () => {
    const store = new MemoryStore();
    await store.close();
    await assert.rejects(store.getSession('x'), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
    await assert.rejects(store.ping(), { code: 'ERR_LATCHKEY_STORE_UNAVAILABLE' });
  });

  it('rejects a clock that is not a function with TypeError', () => {
    assert.throws(() => new MemoryStore({ now: 5 as unknown as () => number }), TypeError);
  });
});

describeCounterStoreConformance('MemoryStore', {
  makeStore: async (clock) => ({ store: new MemoryStore({ now: clock.now }) }),
});

// MemoryStore gives no view of what it holds and needs no sweep (an expired token goes as it is
// found): the tests that need storedTokens or sweep skip, saying so.
describeTokenStoreConformance('MemoryStore', {
  makeStore: async (clock) => {
    const store = new MemoryStore({ now: clock.now });
    return { store, cleanup: () => store.close() };
  },
});

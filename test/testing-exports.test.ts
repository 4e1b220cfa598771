/**
 * The README's "Writing your own store" example, verbatim below this comment (test/package.test.ts
 * checks that the two agree): a store author's test file that runs latchkey's four conformance
 * suites through the public `latchkey/testing`, with latchkey's MemoryStore and an in-memory
 * SqliteUserStore standing in for the author's stores.
 */
import { SqliteUserStore } from 'latchkey/sqlite';
import {
  describeCounterStoreConformance,
  describeStoreConformance,
  describeTokenStoreConformance,
  describeUserStoreConformance,
  MemoryStore,
} from 'latchkey/testing';

// Sessions and remember-me tokens: each test gets a fresh store on a clock it moves by hand.
describeStoreConformance('MemoryStore through latchkey/testing', {
  makeStore: async (clock) => {
    const store = new MemoryStore({ now: clock.now }); // yours: its clock on clock.now, sweeps off
    return { store, cleanup: () => store.close() };
  },
});

// The login throttle's failure counters, on the same terms.
describeCounterStoreConformance('MemoryStore through latchkey/testing', {
  makeStore: async (clock) => {
    const store = new MemoryStore({ now: clock.now });
    return { store, cleanup: () => store.close() };
  },
});

// One-time tokens (reset, verification and email-change links), on the same terms; a store may
// also give `storedTokens` and `sweep`, so the suite checks what it keeps (see the JSDoc).
describeTokenStoreConformance('MemoryStore through latchkey/testing', {
  makeStore: async (clock) => {
    const store = new MemoryStore({ now: clock.now });
    return { store, cleanup: () => store.close() };
  },
});

// Accounts: each test expects an empty store (a table, schema or file of its own).
describeUserStoreConformance('SqliteUserStore in memory through latchkey/testing', {
  makeStore: async () => {
    const store = new SqliteUserStore({ path: ':memory:' });
    return { store, cleanup: () => store.close() };
  },
});

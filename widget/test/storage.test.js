import { describe, expect, it } from 'vitest';
import { newEventId, newSubject } from '../src/core/ids.js';
import { createMemoryStore, createSafeStore, readJSON } from '../src/core/storage.js';

const throwing = () => {
  throw new DOMException('denied', 'SecurityError');
};

describe('createSafeStore', () => {
  it('reads and writes through a working storage', () => {
    const backing = new Map();
    const ls = { getItem: (k) => backing.get(k) ?? null, setItem: (k, v) => backing.set(k, v) };
    const store = createSafeStore(() => ls);
    store.set('a', '1');
    expect(backing.get('a')).toBe('1');
    expect(store.get('a')).toBe('1');
  });

  it('falls back to memory when reaching localStorage throws', () => {
    const store = createSafeStore(throwing);
    expect(store.get('a')).toBeNull();
    store.set('a', '1');
    expect(store.get('a')).toBe('1');
  });

  it('serves memory after a failed write (quota), never a stale stored value', () => {
    const ls = { getItem: () => 'stale', setItem: throwing };
    const store = createSafeStore(() => ls);
    store.set('a', 'fresh');
    expect(store.get('a')).toBe('fresh');
  });

  it('reads corrupt JSON as null', () => {
    expect(readJSON(createMemoryStore({ k: '{bad' }), 'k')).toBeNull();
    expect(readJSON(createMemoryStore({ k: '{"a":1}' }), 'k')).toEqual({ a: 1 });
  });
});

describe('ids', () => {
  it('makes 128-bit base64url subjects', () => {
    const s = newSubject();
    expect(s).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(newSubject()).not.toBe(s);
  });

  it('makes v4 UUIDs, also without crypto.randomUUID', () => {
    const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(newEventId()).toMatch(v4);
    const legacy = { getRandomValues: (a) => globalThis.crypto.getRandomValues(a) };
    for (let i = 0; i < 50; i++) expect(newEventId(legacy)).toMatch(v4);
  });
});

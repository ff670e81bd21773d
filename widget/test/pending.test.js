import { describe, expect, it } from 'vitest';
import { beaconAll, pendingEntries, persist } from '../src/core/pending.js';
import { createMemoryStore } from '../src/core/storage.js';

const URL = 'https://consent.example.com/api/v1/sites/s/consents';
const event = (id, extra = {}) => ({ client_event_id: id, subject: 's', action: 'accept_all', ...extra });

function beaconed(storage) {
  const sent = [];
  beaconAll(storage, (url, body) => sent.push([url, JSON.parse(body).client_event_id]));
  return sent.map(([url, id]) => (url === URL ? id : `wrong url ${url}`));
}

describe('first layer: pending entries', () => {
  it('persists an event once, replacing an entry of the same id', () => {
    const storage = createMemoryStore();
    persist(storage, event('e1'), URL);
    persist(storage, event('e2'), URL);
    persist(storage, event('e1', { action: 'reject_all' }), URL);
    const list = pendingEntries(storage);
    expect(list.map((e) => e.id)).toEqual(['e2', 'e1']);
    expect(JSON.parse(list[1].body).action).toBe('reject_all');
  });

  it('reads malformed storage as no entries', () => {
    for (const bad of ['{nope', '{"a":1}', 'null']) {
      expect(pendingEntries(createMemoryStore({ 'consentry.outbox': bad }))).toEqual([]);
    }
  });

  it('beacons every entry that carries its token, and only the first without one', () => {
    const storage = createMemoryStore();
    persist(storage, event('e1'), URL); // the subject's first: its answer brings the token
    persist(storage, event('e2'), URL); // could overtake e1 and get it refused: waits
    persist(storage, event('e3', { page: 'https://a.example/"subject_token":' }), URL);
    expect(beaconed(storage)).toEqual(['e1']);
    // Once the outbox has stamped the token into the entries, all of them go.
    const stamped = pendingEntries(storage).map((e) => ({
      ...e,
      body: JSON.stringify({ ...JSON.parse(e.body), subject_token: 'tok' }),
    }));
    storage.set('consentry.outbox', JSON.stringify(stamped));
    expect(beaconed(storage)).toEqual(['e1', 'e2', 'e3']);
  });

  it('skips entries without a url', () => {
    const storage = createMemoryStore({ 'consentry.outbox': JSON.stringify([{ id: 'x', body: '{}' }]) });
    expect(beaconed(storage)).toEqual([]);
  });
});

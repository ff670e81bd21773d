// The first layer's part of delivery: it persists each event in the outbox before anything else
// (so no consent is lost, whatever happens next) and hands every pending event to sendBeacon
// when the page is hidden. Sending with retries and backoff is the full outbox (outbox.js),
// loaded on demand with the preferences dialog (prefetched when the banner shows) and started
// at once after a choice or when events are pending. Entries: the outbox's format.

export const OUTBOX_KEY = 'consentry.outbox';

/** The pending entries (malformed storage reads as none; the outbox validates each). */
export function pendingEntries(storage, key = OUTBOX_KEY) {
  try {
    const list = JSON.parse(storage.get(key) || '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

/** Persist `event` (it carries `client_event_id`) for `url`, replacing an entry of the same id. */
export function persist(storage, event, url, key = OUTBOX_KEY) {
  const entry = { id: event.client_event_id, url, body: JSON.stringify(event), n: 0, at: 0 };
  storage.set(key, JSON.stringify(pendingEntries(storage, key).filter((e) => e.id !== entry.id).concat(entry)));
}

/** Hand every pending entry to `beacon(url, body)`; entries stay until a receipt arrives. */
export function beaconAll(storage, beacon, key = OUTBOX_KEY) {
  for (const e of pendingEntries(storage, key)) e.url && beacon(e.url, e.body);
}

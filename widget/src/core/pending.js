// The first layer's part of delivery: it persists each event in the outbox before anything else
// (so no consent is lost, whatever happens next) and hands the pending events to sendBeacon
// when the page is hidden. Sending with retries and backoff is the full outbox (outbox.js),
// loaded on demand with the preferences dialog (prefetched when the banner shows) and started
// at once after a choice or when events are pending. Entries: the outbox's format.

import { readJSON } from './storage.js';

export const OUTBOX_KEY = 'consentry.outbox';

/** The pending entries (malformed storage reads as none; the outbox validates each). */
export function pendingEntries(storage, key = OUTBOX_KEY) {
  const list = readJSON(storage, key);
  return Array.isArray(list) ? list : [];
}

/** Persist `event` (it carries `client_event_id`) for `url`, replacing an entry of the same id. */
export function persist(storage, event, url, key = OUTBOX_KEY) {
  const entry = { id: event.client_event_id, url, body: JSON.stringify(event), n: 0, at: 0 };
  storage.set(key, JSON.stringify(pendingEntries(storage, key).filter((e) => e.id !== entry.id).concat(entry)));
}

/**
 * Hand the pending entries to `beacon(url, body)`; entries stay until a receipt arrives. Of the
 * entries without a subject_token, only the first goes: its answer brings the token the later
 * ones need. Sent beside it, a later one could overtake it (beacons arrive in any order), be
 * recorded first and get it refused.
 */
export function beaconAll(storage, beacon, key = OUTBOX_KEY) {
  let tokenless = 0;
  for (const e of pendingEntries(storage, key)) {
    if (e.url && (/"subject_token"/.test(e.body) || !tokenless++)) beacon(e.url, e.body);
  }
}

// Delivery that never loses a consent. Each event is persisted in the outbox before it is
// sent, is sent again (same client_event_id) until the service answers with a receipt, and
// survives reloads. The service is idempotent by client_event_id, so a duplicate send (beacon +
// fetch, two tabs, a retry after a lost answer) is harmless.
//
// Events go out one at a time, oldest first: a later event waits behind one that is retrying.
// The first answer for a subject carries its subject_token, which the service requires on every
// later event of that subject; the outbox keeps it (`idKey`) and writes it into the pending
// events, so the first layer's beacons carry it too. A subject whose token is gone (storage
// cleared, the cookie kept; or expired) is answered 403 subject_token_required: the event is
// then recorded for a new subject, which later events of the old one follow, instead of lost.
//
// Entries, stored as a JSON array under `key`: {id, url, body, n: failed attempts, at: not before
// (ms), r: 1 once moved to a new subject}. Identity, under `idKey`: {tokens: {subject: token},
// map: {old subject: its new subject}}.
import { newSubject as makeSubject } from './ids.js';
import { beaconAll, pendingEntries } from './pending.js';

// Retry delay: 1 s, 2 s, 4 s ... times a jitter factor in [0.5, 1.5), at most 60 s.
export const BASE_DELAY = 1000;
export const MAX_DELAY = 60000;

const retryable = (status) => status === 408 || status === 429 || status >= 500;
function validEntry(e) {
  try {
    return typeof e.url === 'string' && e.n >= 0 && JSON.parse(e.body).client_event_id === e.id && typeof e.id === 'string';
  } catch {
    return false;
  }
}
const object = (value) => (value && typeof value === 'object' && !Array.isArray(value) ? value : {});

/**
 * Create an outbox.
 * - storage: {get(key), set(key, value)} string store that does not throw (createSafeStore)
 * - send(url, body) -> Promise<{status, body}>; rejects on a network error
 * - beacon(url, body): fire-and-forget send on page hide (optional)
 * - schedule(fn, ms), now() -> ms, random() -> [0, 1), newSubject(): injectable for tests
 * - key, idKey: the storage keys of the entries and of the subjects' tokens
 * - onDelivered(event, answer), onDropped(event, answer), onOutdated(event, answer): hooks
 */
export function createOutbox({
  storage,
  send,
  beacon,
  schedule = setTimeout,
  now = Date.now,
  random = Math.random,
  newSubject = makeSubject,
  key = 'consentry.outbox',
  idKey = 'consentry.subject',
  onDelivered,
  onDropped,
  onOutdated,
}) {
  let rounds = Promise.resolve(); // one round at a time: events leave in order

  const load = () => pendingEntries(storage, key).filter(validEntry);

  const save = (list) => storage.set(key, JSON.stringify(list));

  // Re-read before each write so entries another tab added meanwhile are kept.
  const update = (id, change) => save(load().map((e) => (e.id === id ? { ...e, ...change(e) } : e)));
  const remove = (id) => save(load().filter((e) => e.id !== id));

  function identity() {
    let value;
    try {
      value = object(JSON.parse(storage.get(idKey)));
    } catch {
      value = {}; // corrupt: as if gone (the service then asks for a new subject)
    }
    return { tokens: object(value.tokens), map: object(value.map) };
  }

  /** The body as it is to be sent now: its subject's replacement, if any, and that one's token. */
  function stamped(body, { tokens, map }) {
    const event = JSON.parse(body);
    const subject = map[event.subject] || event.subject;
    const { subject_token: _old, ...rest } = event;
    const token = tokens[subject];
    return JSON.stringify(token ? { ...rest, subject, subject_token: token } : { ...rest, subject });
  }

  /** Write the current identity into every pending entry (beacons send the stored bodies). */
  function stampAll() {
    const ids = identity();
    const list = load();
    const next = list.map((e) => ({ ...e, body: stamped(e.body, ids) }));
    if (next.some((e, i) => e.body !== list[i].body)) save(next);
  }

  function remember(change) {
    const ids = identity();
    change(ids);
    storage.set(idKey, JSON.stringify(ids));
    stampAll();
  }

  /** The subject's token is gone: a new subject takes over from it (and from those it replaced). */
  function renew(subject) {
    remember(({ map }) => {
      const next = newSubject();
      for (const old in map) if (map[old] === subject) map[old] = next;
      map[subject] = next;
    });
  }

  function backOff(entry) {
    const n = entry.n + 1;
    const delay = Math.min(MAX_DELAY, BASE_DELAY * 2 ** (n - 1) * (0.5 + random()));
    // Only touches the entry if it is still there (another tab may have delivered it).
    update(entry.id, () => ({ n, at: now() + delay }));
    // The entry's own timer sends it even if the clock says it is not due yet (timer fired early,
    // clock set back, coarse Date.now): otherwise nothing would wake it until the next page view.
    schedule(() => flush(entry.id), delay);
  }

  /** Settle one attempt; true when the next entry may go (this one is done with). */
  function settle(entry, answer) {
    const status = answer?.status;
    const body = answer?.body;
    const event = JSON.parse(entry.body);
    if ((status === 200 || status === 201) && body?.receipt) {
      remove(entry.id);
      if (body.subject_token) remember(({ tokens }) => (tokens[event.subject] = body.subject_token));
      onDelivered?.(event, body);
      return true;
    }
    if (!answer || status < 300 || retryable(status)) {
      backOff(entry);
      return false;
    }
    if (status === 403 && body?.error?.code === 'subject_token_required' && !entry.r) {
      update(entry.id, () => ({ r: 1 }));
      renew(event.subject);
      return attempt(entry.id);
    }
    remove(entry.id);
    (status === 409 && body?.error?.code === 'documents_outdated' ? onOutdated : onDropped)?.(event, answer);
    return true;
  }

  function attempt(id) {
    const entry = load().find((e) => e.id === id);
    if (!entry) return true; // another tab delivered it meanwhile
    // Promise.resolve().then also turns a synchronous throw of send into a network failure.
    return Promise.resolve()
      .then(() => send(entry.url, entry.body))
      .then(
        (answer) => settle(entry, answer),
        () => settle(entry, null),
      );
  }

  /** One round: the entries in order, each once, up to the first that is not due or fails. */
  function round(all) {
    stampAll();
    const tried = new Set();
    const next = () => {
      const entry = load().find((e) => !tried.has(e.id));
      if (!entry || !(all === true || all === entry.id || !(entry.at > now()))) return;
      tried.add(entry.id);
      return Promise.resolve(attempt(entry.id)).then((go) => go && next());
    };
    return next();
  }

  /**
   * Send the entries that are due, in order (all of them when `all` is true; also the entry
   * whose id `all` is: its retry timer fired); resolves when this round settles.
   */
  function flush(all) {
    const run = rounds.then(() => round(all));
    rounds = run.catch(() => {}); // a throwing hook must not stop every later round
    return run;
  }

  /** Persist the event (it must carry `client_event_id`) first, then try to send it. */
  function enqueue(event, url) {
    const entry = { id: event.client_event_id, url, body: JSON.stringify(event), n: 0, at: 0 };
    save(load().filter((e) => e.id !== entry.id).concat(entry));
    return flush();
  }

  /** Hand the pending entries to the beacon (`beaconAll`); returns how many went. */
  function flushBeacon() {
    let sent = 0;
    stampAll();
    if (beacon) {
      beaconAll(storage, (url, body) => {
        sent += 1;
        beacon(url, body);
      }, key);
    }
    return sent;
  }

  /** The pending events, oldest first. */
  const pending = () => load().map((e) => JSON.parse(e.body));

  return { enqueue, flush, flushBeacon, pending };
}

/**
 * `storage` with `key` also kept in a cookie (`cookie`: {get() -> string or null, set(value)}):
 * the cookie is read first, so every subdomain that shares the site's cookie domain (and so the
 * subject) also shares the subject's token, which localStorage (one per origin) cannot.
 */
export const withCookie = (storage, key, cookie) => ({
  get: (k) => (k === key && cookie.get()) || storage.get(k),
  set(k, value) {
    storage.set(k, value);
    if (k === key) cookie.set(value);
  },
});

/** A `send` for createOutbox over fetch: a CORS-simple POST (text/plain, no preflight). */
export const fetchSender = (fetchFn) => (url, body) =>
  fetchFn(url, {
    method: 'POST',
    keepalive: true,
    headers: { 'Content-Type': 'text/plain' },
    body,
  }).then((res) =>
    res.json().then(
      (json) => ({ status: res.status, body: json }),
      () => ({ status: res.status, body: null }),
    ),
  );

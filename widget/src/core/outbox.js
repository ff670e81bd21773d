// Delivery that never loses a consent. Each event is persisted in the outbox before it is
// sent, is sent again (same bytes, same client_event_id) until the service answers with a
// receipt, and survives reloads. The service is idempotent by client_event_id, so a duplicate
// send (beacon + fetch, two tabs, a retry after a lost answer) is harmless.
//
// Entries, stored as a JSON array under `key`: {id, url, body, n: failed attempts, at: not before (ms)}.

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

/**
 * Create an outbox.
 * - storage: {get(key), set(key, value)} string store that does not throw (createSafeStore)
 * - send(url, body) -> Promise<{status, body}>; rejects on a network error
 * - beacon(url, body): fire-and-forget send on page hide (optional)
 * - schedule(fn, ms), now() -> ms, random() -> [0, 1): injectable for tests
 * - key: the storage key
 * - onDelivered(event, answer), onDropped(event, answer), onOutdated(event, answer): hooks
 */
export function createOutbox({
  storage,
  send,
  beacon,
  schedule = setTimeout,
  now = Date.now,
  random = Math.random,
  key = 'consentry.outbox',
  onDelivered,
  onDropped,
  onOutdated,
}) {
  const inflight = new Set();

  function load() {
    try {
      const list = JSON.parse(storage.get(key) || '[]');
      return Array.isArray(list) ? list.filter(validEntry) : [];
    } catch {
      return []; // corrupt: the next save overwrites it
    }
  }

  const save = (list) => storage.set(key, JSON.stringify(list));

  // Re-read before each write so entries another tab added meanwhile are kept.
  const remove = (id) => save(load().filter((e) => e.id !== id));

  function backOff(entry) {
    const n = entry.n + 1;
    const delay = Math.min(MAX_DELAY, BASE_DELAY * 2 ** (n - 1) * (0.5 + random()));
    // Only touches the entry if it is still there (another tab may have delivered it).
    save(load().map((e) => (e.id === entry.id ? { ...e, n, at: now() + delay } : e)));
    // The entry's own timer sends it even if the clock says it is not due yet (timer fired early,
    // clock set back, coarse Date.now): otherwise nothing would wake it until the next page view.
    schedule(() => flush(entry.id), delay);
  }

  function settle(entry, answer) {
    inflight.delete(entry.id);
    const status = answer?.status;
    const body = answer?.body;
    const event = JSON.parse(entry.body);
    if ((status === 200 || status === 201) && body?.receipt) {
      remove(entry.id);
      onDelivered?.(event, body);
    } else if (!answer || status < 300 || retryable(status)) {
      backOff(entry);
    } else {
      remove(entry.id);
      (status === 409 && body?.error?.code === 'documents_outdated' ? onOutdated : onDropped)?.(event, answer);
    }
  }

  function attempt(entry) {
    inflight.add(entry.id);
    // Promise.resolve().then also turns a synchronous throw of send into a network failure.
    return Promise.resolve()
      .then(() => send(entry.url, entry.body))
      .then(
      (answer) => settle(entry, answer),
      () => settle(entry, null),
    );
  }

  /**
   * Send the entries that are due (all of them when `all` is true; also the entry whose id `all`
   * is: its retry timer fired); resolves when this round settles.
   */
  function flush(all) {
    const t = now();
    const due = load().filter((e) => !inflight.has(e.id) && (all === true || all === e.id || !(e.at > t)));
    return Promise.all(due.map(attempt)).then(() => {});
  }

  /** Persist the event (it must carry `client_event_id`) first, then try to send it. */
  function enqueue(event, url) {
    const entry = { id: event.client_event_id, url, body: JSON.stringify(event), n: 0, at: 0 };
    save(load().filter((e) => e.id !== entry.id).concat(entry));
    return flush();
  }

  /** Hand every pending entry to the beacon; entries stay until a receipt arrives. */
  function flushBeacon() {
    const list = load();
    if (beacon) for (const e of list) beacon(e.url, e.body);
    return list.length;
  }

  /** The pending events, oldest first. */
  const pending = () => load().map((e) => JSON.parse(e.body));

  return { enqueue, flush, flushBeacon, pending };
}

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

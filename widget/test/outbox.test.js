import { describe, expect, it } from 'vitest';
import { createOutbox, fetchSender, withCookie } from '../src/core/outbox.js';
import { createMemoryStore, createSafeStore } from '../src/core/storage.js';

const URL = 'https://consent.example.com/api/v1/sites/s/consents';
const KEY = 'consentry.outbox';
const event = (id = 'e1', extra = {}) => ({ client_event_id: id, subject: 's', action: 'accept_all', ...extra });
const receipt = (id, extra = {}) => ({ status: 201, body: { id, seq: 1, receipt: `jws-${id}`, ...extra } });
const tokenRequired = { status: 403, body: { error: { code: 'subject_token_required', message: 'm', details: {} } } };
const sentEvents = (w) => w.sent.filter((s) => !s.beacon).map((s) => JSON.parse(s.body));

/** A controllable world: clock, timers, and a `send` answered from a script. */
function harness({ answers = [], storage = createMemoryStore(), random = () => 0.5, subjects = ['n1', 'n2', 'n3'] } = {}) {
  const world = { t: 0, timers: [], sent: [], delivered: [], dropped: [], outdated: [], storage };
  const script = [...answers];
  world.send = (url, body) => {
    world.sent.push({ url, body, stored: storage.get(KEY) });
    const next = script.length ? script.shift() : receipt(JSON.parse(body).client_event_id);
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  world.outbox = createOutbox({
    storage,
    send: world.send,
    beacon: (url, body) => world.sent.push({ url, body, beacon: true }),
    schedule: (fn, ms) => world.timers.push({ fn, ms }),
    now: () => world.t,
    random,
    newSubject: () => subjects.shift(),
    onDelivered: (ev, answer) => world.delivered.push([ev.client_event_id, answer.receipt]),
    onDropped: (ev, answer) => world.dropped.push([ev.client_event_id, answer.status]),
    onOutdated: (ev, answer) => world.outdated.push([ev.client_event_id, answer.body.error.details]),
  });
  /** Advance the clock to the next timer and run it. */
  world.tick = () => {
    const timer = world.timers.shift();
    world.t += timer.ms;
    return timer.fn();
  };
  return world;
}

const netError = () => new TypeError('Failed to fetch');

describe('outbox', () => {
  it('persists the event before sending it', async () => {
    const w = harness();
    await w.outbox.enqueue(event(), URL);
    expect(w.sent).toHaveLength(1);
    expect(JSON.parse(w.sent[0].stored)[0].id).toBe('e1');
    expect(w.sent[0].url).toBe(URL);
  });

  it('removes the entry exactly once when a receipt arrives', async () => {
    const w = harness();
    await w.outbox.enqueue(event(), URL);
    expect(w.delivered).toEqual([['e1', 'jws-e1']]);
    expect(w.outbox.pending()).toEqual([]);
    await w.outbox.flush(true);
    expect(w.sent).toHaveLength(1);
    expect(w.delivered).toHaveLength(1);
  });

  it('retries network errors, 5xx, 408 and 429 with exponential backoff and the same bytes', async () => {
    const w = harness({ answers: [netError(), { status: 503, body: null }, { status: 429, body: {} }, { status: 408, body: {} }] });
    await w.outbox.enqueue(event(), URL);
    for (let i = 0; i < 4; i++) await w.tick();
    expect(w.sent).toHaveLength(5);
    expect(new Set(w.sent.map((s) => s.body)).size).toBe(1); // same client_event_id, same body
    expect(w.delivered).toEqual([['e1', 'jws-e1']]);
    expect(w.outbox.pending()).toEqual([]);
  });

  it('backs off 1 s, 2 s, 4 s ... with jitter, capped at 60 s', async () => {
    const w = harness({ answers: Array(9).fill({ status: 500, body: null }) });
    await w.outbox.enqueue(event(), URL);
    const delays = [];
    for (let i = 0; i < 8; i++) {
      delays.push(w.timers[0].ms);
      await w.tick();
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    const jittered = harness({ answers: [{ status: 500 }], random: () => 0 });
    await jittered.outbox.enqueue(event(), URL);
    expect(jittered.timers[0].ms).toBe(500);
  });

  it('does not send an entry before its backoff is due, unless forced', async () => {
    const w = harness({ answers: [netError()] });
    await w.outbox.enqueue(event(), URL);
    await w.outbox.flush();
    expect(w.sent).toHaveLength(1);
    await w.outbox.flush(true);
    expect(w.sent).toHaveLength(2);
  });

  it('retries when its timer fires before the clock says the entry is due', async () => {
    // Timers can fire early for the clock (clock set back, coarse Date.now, truncated delays):
    // the retry must still happen, or the event waits for the next page view.
    const w = harness({ answers: [netError()] });
    await w.outbox.enqueue(event(), URL);
    const timer = w.timers.shift();
    w.t += timer.ms - 1; // one millisecond early
    await timer.fn();
    expect(w.sent).toHaveLength(2);
    expect(w.delivered).toEqual([['e1', 'jws-e1']]);
    expect(w.outbox.pending()).toEqual([]);
  });

  it('treats a 2xx without receipt as not delivered', async () => {
    const w = harness({ answers: [{ status: 200, body: {} }] });
    await w.outbox.enqueue(event(), URL);
    expect(w.outbox.pending()).toHaveLength(1);
    await w.tick();
    expect(w.outbox.pending()).toHaveLength(0);
  });

  it('drops and reports an event the service refuses for good', async () => {
    const w = harness({ answers: [{ status: 422, body: { error: { code: 'validation_failed' } } }] });
    await w.outbox.enqueue(event(), URL);
    expect(w.dropped).toEqual([['e1', 422]]);
    expect(w.outbox.pending()).toEqual([]);
    expect(w.timers).toHaveLength(0);
  });

  it('hands documents_outdated to the re-prompt hook and drops the event', async () => {
    const details = { current: { privacy: { version: 4, sha256: 'x' } } };
    const w = harness({ answers: [{ status: 409, body: { error: { code: 'documents_outdated', details } } }] });
    await w.outbox.enqueue(event(), URL);
    expect(w.outdated).toEqual([['e1', details]]);
    expect(w.dropped).toEqual([]);
    expect(w.outbox.pending()).toEqual([]);
  });

  it('drops any other 409 as final', async () => {
    const w = harness({ answers: [{ status: 409, body: { error: { code: 'conflict' } } }] });
    await w.outbox.enqueue(event(), URL);
    expect(w.dropped).toEqual([['e1', 409]]);
  });

  it('survives a reload: a new outbox over the same storage resends pending events once', async () => {
    const storage = createMemoryStore();
    const offline = harness({ storage, answers: [netError()] });
    await offline.outbox.enqueue(event('e1'), URL);
    await offline.outbox.enqueue(event('e2'), URL);
    expect(offline.outbox.pending().map((e) => e.client_event_id)).toEqual(['e1', 'e2']);
    const stored = JSON.parse(storage.get(KEY)).map((e) => e.body);

    const next = harness({ storage }); // next page view, back online
    await next.outbox.flush(true);
    expect(next.delivered.map((d) => d[0])).toEqual(['e1', 'e2']);
    expect(next.sent.map((s) => s.body)).toEqual(stored); // identical bytes
    expect(next.outbox.pending()).toEqual([]);
    await next.outbox.flush(true);
    expect(next.sent).toHaveLength(2);
  });

  it('does not send the same entry twice at once', async () => {
    let release;
    const storage = createMemoryStore();
    const sent = [];
    const outbox = createOutbox({
      storage,
      send: (url, body) => {
        sent.push(body);
        return new Promise((resolve) => {
          release = () => resolve(receipt('e1'));
        });
      },
      schedule: () => {},
    });
    const first = outbox.enqueue(event(), URL);
    const second = outbox.flush(true);
    await new Promise((resolve) => setTimeout(resolve, 0)); // both rounds have had their turn
    expect(sent).toHaveLength(1);
    release();
    await Promise.all([first, second]);
    expect(sent).toHaveLength(1);
    expect(outbox.pending()).toEqual([]);
  });

  it('keeps entries on beacon: only a receipt removes them', async () => {
    const w = harness({ answers: [netError()] });
    await w.outbox.enqueue(event(), URL);
    expect(w.outbox.flushBeacon()).toBe(1);
    expect(w.sent.at(-1)).toMatchObject({ beacon: true, url: URL });
    expect(w.outbox.pending()).toHaveLength(1);
  });

  it('beacons only the first event without a token: its answer brings the token', async () => {
    const w = harness({ answers: [netError()] });
    await w.outbox.enqueue(event('e1'), URL);
    await w.outbox.enqueue(event('e2'), URL);
    await w.outbox.enqueue(event('e3', { subject: 'other' }), URL);
    // e2 and e3 wait behind e1; a beacon of e2 could overtake e1 and get e1 refused.
    expect(w.outbox.flushBeacon()).toBe(1);
    const beacons = w.sent.filter((s) => s.beacon).map((s) => JSON.parse(s.body).client_event_id);
    expect(beacons).toEqual(['e1']);
    expect(w.outbox.pending()).toHaveLength(3);
  });

  it('beacons every event of a subject whose token it has', async () => {
    const w = harness({ answers: [receipt('e1', { subject_token: 'tok-s' }), netError()] });
    await w.outbox.enqueue(event('e1'), URL);
    await w.outbox.enqueue(event('e2'), URL);
    await w.outbox.enqueue(event('e3'), URL);
    expect(w.outbox.flushBeacon()).toBe(2);
    const beacons = w.sent.filter((s) => s.beacon).map((s) => JSON.parse(s.body));
    expect(beacons.map((b) => [b.client_event_id, b.subject_token])).toEqual([
      ['e2', 'tok-s'],
      ['e3', 'tok-s'],
    ]);
  });

  it('starts empty over corrupt storage and repairs it', async () => {
    for (const bad of ['{nope', '{"a":1}', '[1,null,{"id":"x"},{"id":"y","url":"u","body":"{bad","n":0}]']) {
      const storage = createMemoryStore({ [KEY]: bad });
      const w = harness({ storage });
      expect(w.outbox.pending()).toEqual([]);
      await w.outbox.enqueue(event(), URL);
      expect(w.delivered).toHaveLength(1);
      expect(JSON.parse(storage.get(KEY))).toEqual([]);
    }
  });

  it('drops entries whose body does not match their id', () => {
    const forged = [{ id: 'a', url: URL, body: JSON.stringify(event('b')), n: 0, at: 0 }];
    const w = harness({ storage: createMemoryStore({ [KEY]: JSON.stringify(forged) }) });
    expect(w.outbox.pending()).toEqual([]);
  });

  it('still delivers when localStorage throws', async () => {
    const storage = createSafeStore(() => {
      throw new DOMException('denied', 'SecurityError');
    });
    const w = harness({ storage, answers: [netError()] });
    await w.outbox.enqueue(event(), URL);
    expect(w.outbox.pending()).toHaveLength(1);
    await w.tick();
    expect(w.delivered).toEqual([['e1', 'jws-e1']]);
  });

  it('treats a synchronous throw of send as a network error', async () => {
    const storage = createMemoryStore();
    const timers = [];
    const outbox = createOutbox({
      storage,
      send: () => {
        throw new TypeError('keepalive body too large');
      },
      schedule: (fn, ms) => timers.push(ms),
      random: () => 0.5,
    });
    await outbox.enqueue(event(), URL);
    expect(timers).toEqual([1000]);
    expect(outbox.pending()).toHaveLength(1);
  });
});

describe('outbox: order and subject identity', () => {
  it('sends queued events one at a time, oldest first', async () => {
    const storage = createMemoryStore();
    const offline = harness({ storage, answers: [netError()] });
    for (const id of ['e1', 'e2', 'e3']) await offline.outbox.enqueue(event(id), URL);
    expect(offline.sent.map((s) => JSON.parse(s.body).client_event_id)).toEqual(['e1']); // the rest wait behind it

    const order = [];
    let open = 0;
    const outbox = createOutbox({
      storage,
      send: (url, body) => {
        open += 1;
        order.push([JSON.parse(body).client_event_id, open]);
        return new Promise((resolve) => setTimeout(resolve, 1)).then(() => {
          open -= 1;
          return receipt(JSON.parse(body).client_event_id);
        });
      },
      schedule: () => {},
    });
    await outbox.flush(true);
    expect(order).toEqual([
      ['e1', 1],
      ['e2', 1],
      ['e3', 1],
    ]);
  });

  it('keeps later events behind one that is retrying', async () => {
    const w = harness({ answers: [{ status: 503, body: null }] });
    await w.outbox.enqueue(event('e1'), URL);
    await w.outbox.enqueue(event('e2'), URL);
    expect(sentEvents(w).map((e) => e.client_event_id)).toEqual(['e1']);
    await w.tick(); // e1's retry: delivered, then e2
    expect(sentEvents(w).map((e) => e.client_event_id)).toEqual(['e1', 'e1', 'e2']);
    expect(w.delivered.map((d) => d[0])).toEqual(['e1', 'e2']);
  });

  it('attaches the token of the first answer to the later events of the subject, beacons included', async () => {
    const w = harness({ answers: [receipt('e1', { subject_token: 'tok-s' }), netError()] });
    await w.outbox.enqueue(event('e1'), URL);
    await w.outbox.enqueue(event('e2'), URL);
    await w.outbox.enqueue(event('e3', { subject: 'other' }), URL);
    const [first, second] = sentEvents(w);
    expect(first.subject_token).toBeUndefined();
    expect(second).toMatchObject({ client_event_id: 'e2', subject: 's', subject_token: 'tok-s' });
    // The stored entries carry it, so the first layer's beacons do too; another subject gets none.
    const stored = JSON.parse(w.storage.get(KEY)).map((e) => JSON.parse(e.body));
    expect(stored.map((e) => e.subject_token)).toEqual(['tok-s', undefined]);
    w.outbox.flushBeacon();
    expect(JSON.parse(w.sent.at(-2).body).subject_token).toBe('tok-s');
    await w.tick();
    expect(w.delivered.map((d) => d[0])).toEqual(['e1', 'e2', 'e3']);
  });

  it('records the event for a new subject when the service wants a token it does not have', async () => {
    const w = harness({ answers: [tokenRequired, receipt('e1', { subject_token: 'tok-n1' })] });
    await w.outbox.enqueue(event('e1'), URL);
    const [refused, renewed] = sentEvents(w);
    expect(refused).toMatchObject({ client_event_id: 'e1', subject: 's' });
    expect(renewed).toMatchObject({ client_event_id: 'e1', subject: 'n1' });
    expect(renewed.subject_token).toBeUndefined();
    expect(w.delivered).toEqual([['e1', 'jws-e1']]);
    expect(w.dropped).toEqual([]);
    // A later event of the old subject (the first layer still has it) follows the new one.
    await w.outbox.enqueue(event('e2'), URL);
    expect(sentEvents(w).at(-1)).toMatchObject({ client_event_id: 'e2', subject: 'n1', subject_token: 'tok-n1' });
  });

  it('starts a new subject when its token is gone from storage, the subject kept', async () => {
    const storage = createMemoryStore();
    const before = harness({ storage, answers: [receipt('e1', { subject_token: 'tok-s' })] });
    await before.outbox.enqueue(event('e1'), URL);
    storage.set('consentry.subject', 'null'); // cleared; the cookie still names subject s
    const after = harness({ storage, answers: [tokenRequired] });
    await after.outbox.enqueue(event('e2'), URL);
    expect(sentEvents(after).map((e) => [e.subject, e.subject_token])).toEqual([
      ['s', undefined],
      ['n1', undefined],
    ]);
    expect(after.delivered.map((d) => d[0])).toEqual(['e2']);
  });

  it('a new subject that a later subject replaces is followed by the events of both', async () => {
    const w = harness({ answers: [tokenRequired, receipt('e1'), tokenRequired] });
    await w.outbox.enqueue(event('e1'), URL); // s -> n1, delivered without a token (none given)
    await w.outbox.enqueue(event('e2'), URL); // n1 -> n2
    await w.outbox.enqueue(event('e3'), URL);
    expect(sentEvents(w).map((e) => `${e.client_event_id}:${e.subject}`)).toEqual(['e1:s', 'e1:n1', 'e2:n1', 'e2:n2', 'e3:n2']);
    expect(JSON.parse(w.storage.get('consentry.subject')).map).toEqual({ s: 'n2', n1: 'n2' });
  });

  it('moves an event to a new subject once: a second refusal drops it', async () => {
    const w = harness({ answers: [tokenRequired, tokenRequired] });
    await w.outbox.enqueue(event('e1'), URL);
    expect(w.sent).toHaveLength(2);
    expect(w.dropped).toEqual([['e1', 403]]);
    expect(w.outbox.pending()).toEqual([]);
  });

  it('reads corrupt identity storage as none', async () => {
    for (const bad of ['{nope', '[1]', '{"tokens":[1],"map":"x"}']) {
      const storage = createMemoryStore({ 'consentry.subject': bad });
      const w = harness({ storage });
      await w.outbox.enqueue(event('e1'), URL);
      expect(w.delivered).toEqual([['e1', 'jws-e1']]);
      expect(JSON.parse(w.sent[0].body).subject).toBe('s');
    }
  });
});

describe('withCookie', () => {
  it('keeps one key in a cookie too, which is read first: another subdomain shares the token', async () => {
    let jar = null;
    const cookie = { get: () => jar, set: (v) => (jar = v) };
    const www = harness({ storage: withCookie(createMemoryStore(), 'consentry.subject', cookie), answers: [receipt('e1', { subject_token: 'tok-s' })] });
    await www.outbox.enqueue(event('e1'), URL);
    expect(JSON.parse(jar).tokens).toEqual({ s: 'tok-s' });
    // shop.example.com: its own localStorage, empty; the subject comes from the shared cookie
    const shop = harness({ storage: withCookie(createMemoryStore(), 'consentry.subject', cookie) });
    await shop.outbox.enqueue(event('e2'), URL);
    expect(sentEvents(shop)[0]).toMatchObject({ subject: 's', subject_token: 'tok-s' });
    // other keys stay in storage only
    expect(withCookie(createMemoryStore({ a: '1' }), 'consentry.subject', cookie).get('a')).toBe('1');
  });
});

describe('fetchSender', () => {
  it('posts text/plain with keepalive and returns status and JSON', async () => {
    const calls = [];
    const send = fetchSender((url, init) => {
      calls.push([url, init]);
      return Promise.resolve({ status: 201, json: () => Promise.resolve({ receipt: 'r' }) });
    });
    expect(await send(URL, '{"a":1}')).toEqual({ status: 201, body: { receipt: 'r' } });
    expect(calls[0][1]).toMatchObject({ method: 'POST', keepalive: true, headers: { 'Content-Type': 'text/plain' }, body: '{"a":1}' });
  });

  it('answers body null when the response is not JSON', async () => {
    const send = fetchSender(() => Promise.resolve({ status: 502, json: () => Promise.reject(new SyntaxError('html')) }));
    expect(await send(URL, '{}')).toEqual({ status: 502, body: null });
  });
});

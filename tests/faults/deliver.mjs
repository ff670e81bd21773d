// Drives consent events through the widget's real delivery logic (outbox + fetchSender) under
// plain node, as many browsers at once, and prints what happened as JSON.
//
//   node tests/faults/deliver.mjs --service http://127.0.0.1:5000 --target http://127.0.0.1:8080 \
//     [--site news-example] [--events 1000] [--browsers 50] [--seed 1] [--scale 1000] \
//     [--deadline 600] [--reload 0.02] [--backlog 3]
//
// --service: where the banner config is fetched (directly); --target: where consents are sent
// (the fault proxy). Each browser has its own memory storage and subject; it enqueues its share
// of events (bodies built from the banner config, as the widget builds them; a new one only while
// fewer than --backlog are pending in its outbox), sometimes reloads
// the page (pagehide beacon, the page's timers and answers die, a new outbox on the same storage
// resends what is pending) and finally waits until its outbox is empty. Time is compressed:
// the outbox's clock runs --scale times faster, so backoffs of seconds take milliseconds.

import { documentsOf } from '../../widget/src/core/decision.js';
import { newEventId, newSubject } from '../../widget/src/core/ids.js';
import { createOutbox, fetchSender } from '../../widget/src/core/outbox.js';
import { createMemoryStore } from '../../widget/src/core/storage.js';

function options(argv) {
  const out = { site: 'news-example', events: 1000, browsers: 50, seed: 1, scale: 1000, deadline: 600, reload: 0.02, backlog: 3 };
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['events', 'browsers', 'seed', 'scale', 'deadline', 'reload', 'backlog']) out[k] = Number(out[k]);
  if (!out.service || !out.target) throw Error('--service and --target are required');
  return out;
}

// mulberry32: a small seeded PRNG, so a run's choices repeat (event ids stay random UUIDs).
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const opt = options(process.argv.slice(2));
const random = seeded(opt.seed);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const started = Date.now();
// The outbox's clock: runs `scale` times faster than the real one.
const now = () => started + (Date.now() - started) * opt.scale;

const config = await (await fetch(`${opt.service}/api/v1/sites/${opt.site}/banner?locale=en`)).json();
const origin = opt.service; // the demo site allows the service's own origin
const url = `${opt.target}/api/v1/sites/${opt.site}/consents`;
// A browser sends Origin on a cross-site POST; node's fetch does not unless told.
const browserFetch = (u, init) => fetch(u, { ...init, headers: { ...init.headers, Origin: origin } });
const sender = fetchSender(browserFetch);

const stats = { delivered_calls: 0, dropped: 0, outdated: 0, reloads: 0, beacons: 0, send_errors: 0 };
const receipts = {};
const enqueued = [];
const problems = [];

function buildEvent(subject) {
  const optional = config.categories.filter((c) => !c.required);
  const action = ['accept_all', 'reject_all', 'custom', 'withdraw'][Math.floor(random() * 4)];
  const choices = {};
  for (const c of config.categories) {
    choices[c.id] = c.required || action === 'accept_all' || (action === 'custom' && random() < 0.5);
  }
  if (action === 'custom' && optional.length === 0) return buildEvent(subject);
  return {
    subject,
    client_event_id: newEventId(),
    action,
    choices,
    documents: documentsOf(config),
    revision: config.revision,
    method: action === 'custom' ? 'preferences' : action === 'withdraw' ? 'api' : 'banner',
    gpc: false,
    locale: config.locale || 'en',
    page: `${origin}/article/${Math.floor(random() * 1000)}`,
  };
}

class Browser {
  constructor(index) {
    this.index = index;
    this.store = createMemoryStore();
    this.subject = newSubject();
    this.open();
  }

  /** A page view: a new outbox on the same storage; it resends whatever is pending. */
  open() {
    const page = { alive: true };
    this.page = page;
    // After the page is gone, its timers never fire and its answers never reach it.
    const never = new Promise(() => {});
    const send = (u, body) =>
      sender(u, body).then(
        (answer) => (page.alive ? answer : never),
        (error) => {
          stats.send_errors += 1;
          return page.alive ? Promise.reject(error) : never;
        },
      );
    this.outbox = createOutbox({
      storage: this.store,
      send,
      beacon: (u, body) => {
        stats.beacons += 1;
        browserFetch(u, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body }).then(
          (res) => res.arrayBuffer(),
          () => {},
        );
      },
      schedule: (fn, ms) => setTimeout(() => page.alive && fn(), ms / opt.scale),
      now,
      random,
      key: 'consentry.outbox',
      onDelivered: (event, answer) => {
        stats.delivered_calls += 1;
        if (!answer.receipt) problems.push(`delivered without receipt: ${event.client_event_id}`);
        if (receipts[event.client_event_id]) problems.push(`delivered twice: ${event.client_event_id}`);
        receipts[event.client_event_id] = answer.receipt;
      },
      onDropped: (event, answer) => {
        stats.dropped += 1;
        problems.push(`dropped ${event.client_event_id}: ${answer.status} ${JSON.stringify(answer.body)}`);
      },
      onOutdated: (event) => {
        stats.outdated += 1;
        problems.push(`outdated ${event.client_event_id}`);
      },
    });
    this.outbox.flush(true);
  }

  reload() {
    stats.reloads += 1;
    this.outbox.flushBeacon(); // pagehide
    this.page.alive = false;
    this.open();
  }

  async run(count, deadline) {
    for (let k = 0; k < count; k += 1) {
      // A visitor makes a few choices while earlier ones are still on their way, not thousands:
      // the load stays near what the service can take instead of growing without bound.
      while (this.outbox.pending().length >= opt.backlog && Date.now() < deadline) await sleep(5);
      await sleep(random() * 20);
      const event = buildEvent(this.subject);
      enqueued.push(event.client_event_id);
      this.outbox.enqueue(event, url);
      if (random() < opt.reload) this.reload();
    }
    while (this.outbox.pending().length > 0 && Date.now() < deadline) {
      await sleep(50);
      // A visitor who comes back later: a new page view resends what is still pending.
      if (random() < opt.reload / 10) this.reload();
    }
  }
}

const deadline = started + opt.deadline * 1000;
const browsers = Array.from({ length: opt.browsers }, (_, i) => new Browser(i));
await Promise.all(
  browsers.map((b, i) => b.run(Math.floor(opt.events / opt.browsers) + (i < opt.events % opt.browsers ? 1 : 0), deadline)),
);

const pending = browsers.reduce((n, b) => n + b.outbox.pending().length, 0);
// What is left, for the report: failed attempts and how far in the future its next try is due.
const leftovers = browsers.flatMap((b) =>
  JSON.parse(b.store.get('consentry.outbox') || '[]').map((e) => ({ id: e.id, n: e.n, due_in_ms: e.at - now() })),
);
const result = {
  events: enqueued.length,
  delivered: Object.keys(receipts).length,
  ...stats,
  pending,
  leftovers: leftovers.slice(0, 20),
  elapsed_s: (Date.now() - started) / 1000,
  problems: problems.slice(0, 50),
  problem_count: problems.length,
  enqueued,
  receipts,
};
process.stdout.write(JSON.stringify(result), () => process.exit(0));

// Entry point: reads the embedding <script>, wires core, gate and UI, exposes window.Consentry.
import { consentDefault, consentUpdate } from './core/consentmode.js';
import { COOKIE_NAME, decodeState, expiryAssignments, parseCookies, stateCookie } from './core/cookie.js';
import {
  actionOf,
  askReason,
  bits,
  choose,
  documentsOf,
  effectiveChoices,
  gpcDecision,
} from './core/decision.js';
import { newEventId, newSubject } from './core/ids.js';
import { createOutbox, fetchSender } from './core/outbox.js';
import { createSafeStore, readJSON } from './core/storage.js';
import { activate, watch } from './gate.js';
import { closePreferences, hideBanner, showBanner, showPreferences } from './ui/view.js';

const W = window;
const D = document;
const N = navigator;
const LOCAL_KEY = 'consentry';

function start(script) {
  const api = `${new URL(script.src).origin}/api/v1/sites/${encodeURIComponent(script.getAttribute('data-site'))}`;
  const store = createSafeStore(() => W.localStorage);
  const signal = N.globalPrivacyControl === true;
  const locale = D.documentElement.lang || N.language || 'en';
  // First of all, so the banner config is on its way while the rest starts up.
  const configLoaded = loadConfig();
  // local: {s, t, e: last event id, documents, receipt, subject_token, recorded_at}
  let local = readJSON(store, LOCAL_KEY) || {};
  let state = decodeState(parseCookies(D.cookie)[COOKIE_NAME]);
  const subject = state?.s || local.s || newSubject();
  let config;
  let texts;
  let gpc = false; // GPC signal on and honoured by the site
  let granted = {};
  let consentMode = false;

  // Host listeners are DOM listeners: a throwing one cannot break the widget or the others.
  const emit = (type, detail) => D.dispatchEvent(new CustomEvent(`consentry:${type}`, { detail }));

  const saveLocal = () => store.set(LOCAL_KEY, JSON.stringify(local));

  const outbox = createOutbox({
    storage: store,
    send: fetchSender((url, init) => fetch(url, init)),
    beacon: (url, body) => N.sendBeacon?.(url, new Blob([body], { type: 'text/plain' })),
    onDelivered(event, answer) {
      if (event.client_event_id !== local.e) return; // an older event: its receipt is superseded
      local.receipt = answer.receipt;
      local.subject_token = answer.subject_token;
      local.recorded_at = answer.recorded_at;
      saveLocal();
    },
    onDropped: (event, answer) => emit('error', { event, status: answer.status, error: answer.body?.error }),
    onOutdated: (event) =>
      loadConfig(true).then(() =>
        ask(
          config.documents.filter((d) => event.documents[d.kind]?.version !== d.version),
        ),
      ),
  });
  outbox.flush(true); // every page view resends what is still pending
  const hidden = () => outbox.flushBeacon();
  W.addEventListener('pagehide', hidden);
  D.addEventListener('visibilitychange', () => D.visibilityState === 'hidden' && hidden());

  function loadConfig(fresh) {
    return fetch(`${api}/banner?locale=${encodeURIComponent(locale)}`, { cache: fresh ? 'no-cache' : undefined })
      .then((res) => {
        if (!res.ok) throw Error(res.status);
        return res.json();
      })
      .then((c) => {
        config = c;
        texts = c.texts; // every key, in the matched locale: built-in texts cost the bundle nothing
        gpc = signal && !!c.gpc?.honour;
        consentMode = !!c.consent_mode?.enabled;
      });
  }


  /** Put choices in force: Consent Mode update, cookie clean-up on refusal, tag activation. */
  function apply(choices, chosen) {
    granted = choices;
    if (consentMode && chosen) W.gtag('consent', 'update', consentUpdate(config, choices));
    if (chosen) {
      for (const c of config.categories) {
        if (choices[c.id]) continue;
        const names = (c.cookies || []).map((k) => k.name);
        for (const a of expiryAssignments(names, Object.keys(parseCookies(D.cookie)), location.hostname)) D.cookie = a;
      }
    }
    activate(choices);
  }

  /**
   * Record an event: cookie and local state, outbox (persisted before sending), then apply.
   * An automatic GPC refusal over a stored agreement keeps that agreement's document versions
   * (refusing does not agree to newer documents); one on a first visit is flagged `g`.
   */
  function record(action, choices, method) {
    const documents = documentsOf(config);
    const versions = {};
    for (const k in documents) versions[k] = documents[k].version;
    const event = {
      subject,
      client_event_id: newEventId(),
      action,
      choices,
      documents,
      revision: config.revision,
      method,
      gpc: signal,
      locale: config.locale || locale,
      page: location.origin + location.pathname,
    };
    const t = Math.floor(Date.now() / 1000);
    const keep = method === 'gpc' && state;
    const previous = local.t === state?.t && local.documents;
    state = {
      s: subject,
      t,
      c: bits(choices),
      d: keep ? state.d : versions,
      r: config.revision?.slice(0, 8),
      g: method === 'gpc' && !keep ? 1 : undefined,
    };
    D.cookie = stateCookie(state, config.consent_lifetime_days || 180, location.protocol === 'https:');
    local = { s: subject, t, e: event.client_event_id, documents: keep ? previous : event.documents };
    saveLocal();
    outbox.enqueue(event, `${api}/consents`);
    apply(choices, true);
    emit('change', { action, method, ...getConsent() });
  }

  /**
   * A choice made (banner, preferences or API): close the UI and record it. Accept all under GPC
   * grants less than all: it is recorded by its outcome (`custom`), as the service requires.
   */
  function decide(action, method, choices = choose(config, gpc, () => action !== 'reject_all' && action !== 'withdraw')) {
    hideBanner();
    closePreferences();
    record(action === 'accept_all' ? actionOf(config, choices) : action, choices, method);
  }

  function preferences(opener) {
    showPreferences({
      config,
      texts,
      gpc,
      opener,
      choices: effectiveChoices(config, state, gpc),
      onSave(picked) {
        const choices = choose(config, gpc, (c) => picked[c.id]);
        decide(actionOf(config, choices), 'preferences', choices);
      },
    });
  }

  function ask(changed, focus) {
    showBanner({
      config,
      texts,
      changed,
      focus,
      onChoice: (action) => decide(action, 'banner'),
      onSettings: preferences,
    });
  }

  /** The consent in force: {choices, documents, recorded_at, receipt?}, or null. */
  function getConsent() {
    if (!state) return null;
    const same = local.t === state.t;
    const choices = {};
    let documents = {};
    for (const k in state.c) choices[k] = state.c[k] === 1;
    for (const k in state.d) documents[k] = { version: state.d[k] };
    if (same && local.documents) documents = local.documents; // with their sha256
    const out = { choices, documents, recorded_at: (same && local.recorded_at) || new Date(state.t * 1000).toISOString() };
    if (same && local.receipt) out.receipt = local.receipt;
    return out;
  }

  const ready = configLoaded.then(() => {
    if (consentMode) {
      // Consent Mode defaults go out before any gated tag can run.
      W.dataLayer = W.dataLayer || [];
      W.gtag =
        W.gtag ||
        function gtag() {
          W.dataLayer.push(arguments);
        };
      W.gtag('consent', 'default', consentDefault(config));
    }
    let why = askReason(config, state, Date.now());
    if (why && why.reason === 'expired') state = null;
    if (gpc && config.mode !== 'notice') {
      const decision = gpcDecision(config, state && effectiveChoices(config, state, false));
      if (decision) record(decision.action, decision.choices, 'gpc');
      why = askReason(config, state, Date.now());
    }
    apply(effectiveChoices(config, state, gpc), !!state);
    watch(() => granted);
    if (why) ask(why.changed);
  });
  ready.catch((error) => emit('error', { error: String(error) }));

  const later = (fn) => () => ready.then(fn);

  D.addEventListener('click', (e) => {
    const opener = e.target.closest?.('[data-consentry-open]');
    if (opener) {
      e.preventDefault();
      ready.then(() => preferences(opener));
    }
  });

  W.Consentry = {
    show: later(() => ask([], true)),
    showPreferences: (opener) => ready.then(() => preferences(opener || D.activeElement)),
    getConsent,
    acceptAll: later(() => decide('accept_all', 'api')),
    rejectAll: later(() => decide('reject_all', 'api')),
    withdraw: later(() => {
      decide('withdraw', 'api');
      ask([], true);
    }),
    on(type, fn) {
      const listener = (e) => fn(e.detail);
      D.addEventListener(`consentry:${type}`, listener);
      return () => D.removeEventListener(`consentry:${type}`, listener);
    },
  };
}

const script = D.currentScript;
if (script && !W.Consentry) start(script);

// The first layer (widget.js, or the per-site script /s/{site}.js that carries its config):
// reads the embedding <script>, shows the banner, gates tags, delivers consents and exposes
// window.Consentry. The preferences dialog and placeholders load on demand (more.js).
import { consentSignals } from './core/consentmode.js';
import { COOKIE_NAME, decodeState, parseCookies, stateCookie } from './core/cookie.js';
import { askReason, bits, choiceOf, documentsOf, effectiveChoices, optedOut } from './core/decision.js';
import { newEventId, newSubject } from './core/ids.js';
import { beaconAll, pendingEntries, persist } from './core/pending.js';
import { createSafeStore, readJSON } from './core/storage.js';
import { activate, watch } from './gate.js';
import { hideBanner, mount, showBanner } from './ui/banner.js';

const W = window;
const D = document;
const N = navigator;
const LOCAL_KEY = 'consentry';
const language = (locale) => (locale || '').split('-')[0].toLowerCase();

/**
 * The widget's state: one object, read and written only here. (Its property names end in `_`:
 * the build shortens those, see build.mjs.)
 * @typedef {import('../types/consentry').BannerConfig} BannerConfig
 * @typedef {import('../types/consentry').Choices} Choices
 * @typedef {object} WidgetState
 * @property {BannerConfig} [config_] the banner config in force
 * @property {?{s: string, t: number, c: Object<string, 0|1>, d: Object<string, number>, r?: string, g?: 1}} stored_
 *   the consent cookie's state (core/cookie.js), null when there is none
 * @property {boolean} gpc_ the GPC signal is on and the site honours it
 * @property {Choices} granted_ the choices in force (what gating applies)
 */

/**
 * @param {HTMLScriptElement} script the embedding script
 * @param {[BannerConfig, string]} [carried] config and the locale it was asked for, when the
 *   per-site script carries them
 */
function start(script, carried) {
  const origin = new URL(script.src).origin;
  const store = createSafeStore(() => W.localStorage);
  const signal = N.globalPrivacyControl === true;
  const pageLang = D.documentElement.lang;
  const locale = pageLang || N.language || 'en';
  // The carried config answers the browser's language; a page in another language asks anew.
  const embedded = carried && (!pageLang || language(pageLang) === language(carried[1])) ? carried[0] : null;
  const site = script.getAttribute('data-site') || carried?.[0].site;
  const api = `${origin}/api/v1/sites/${encodeURIComponent(site)}`;
  /** @type {WidgetState} */
  const S = { stored_: decodeState(parseCookies(D.cookie)[COOKIE_NAME]), gpc_: false, granted_: {} };
  // localStorage (LOCAL_KEY) keeps beside the cookie: {s, t, e: last event id, documents with
  // their hashes, receipt, subject_token, recorded_at}; delivery (more.js) adds the receipt.
  const local = () => readJSON(store, LOCAL_KEY) || {};
  const known = S.stored_?.s;
  let subject; // read from localStorage only when a choice needs it: not before the banner paints
  let texts;
  let more; // the on-demand parts, once asked for
  let outbox; // the full outbox, from them

  // Host listeners are DOM listeners: a throwing one cannot break the widget or the others.
  const emit = (type, detail) => D.dispatchEvent(new CustomEvent(`consentry:${type}`, { detail }));
  const fail = (error) => emit('error', { error: String(error) });

  /** Send what is pending, with retries: the full outbox, on demand (more.js startDelivery). */
  function deliver() {
    loadMore().then((m) => {
      outbox ||= m.startDelivery(store, LOCAL_KEY, (event) =>
        loadConfig(true).then(() => ask(S.config_.documents.filter((d) => event.documents[d.kind]?.version !== d.version))),
      );
      outbox.flush(true);
    }, fail);
  }
  // Every page view resends what is still pending, once the banner is painted
  setTimeout(() => pendingEntries(store).length && deliver(), 99);
  // The page going away (tab closed, navigation, app switch) hides it first: visibilitychange
  // is the one event browsers fire reliably then. A string body goes as text/plain.
  D.addEventListener('visibilitychange', () => D.hidden && beaconAll(store, (url, body) => N.sendBeacon?.(url, body)));

  function use(config) {
    S.config_ = config;
    texts = config.texts; // every key, in the matched locale: built-in texts cost the bundle nothing
    S.gpc_ = signal && !!config.gpc?.honour;
  }

  function loadConfig(fresh) {
    return fetch(`${api}/banner?locale=${encodeURIComponent(locale)}`, { cache: fresh ? 'no-cache' : undefined })
      .then((res) => {
        if (!res.ok) throw Error(res.status);
        return res.json();
      })
      .then(use);
  }

  /** The on-demand parts (preferences, placeholders), loaded once from this script's origin. */
  function loadMore() {
    more ||= new Promise((resolve, reject) => {
      D.addEventListener('consentry:more', (e) => resolve(e.detail), { once: true });
      const s = D.createElement('script');
      s.src = `${origin}/widget-more.js?v=${MORE_VERSION}`;
      s.onerror = () => {
        more = null; // the next call tries again
        reject(Error(s.src));
      };
      D.head.append(s);
    });
    return more;
  }

  /** Put choices in force: Consent Mode update, tags, placeholders. */
  function apply(choices, chosen) {
    const config = S.config_;
    S.granted_ = choices;
    if (config.consent_mode?.enabled && chosen) W.gtag('consent', 'update', consentSignals(config.consent_mode.mapping, choices));
    activate(choices);
    placeholders();
  }

  function placeholders() {
    if (more || D.querySelector('iframe[data-consent],[data-consentry-placeholder]'))
      loadMore().then((m) => m.syncPlaceholders(S.config_, S.granted_, S.gpc_, decide), fail);
  }

  /**
   * Record an event: cookie and local state, outbox (persisted before sending), then apply.
   * `over`: what an automatic GPC refusal keeps (core/decision.js gpcDecision): the document
   * versions of a stored agreement (`d`, `documents`), or the first visit's flag `g`.
   */
  function record(action, choices, method, over = {}) {
    const config = S.config_;
    const documents = documentsOf(config);
    const versions = {};
    for (const k in documents) versions[k] = documents[k].version;
    subject ||= known || local().s || newSubject();
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
    S.stored_ = { s: subject, t, c: bits(choices), d: over.d || versions, r: config.revision?.slice(0, 8), g: over.g };
    D.cookie = stateCookie(S.stored_, config.consent_lifetime_days || 180, location.protocol === 'https:', config.cookie_domain, location.hostname);
    store.set(LOCAL_KEY, JSON.stringify({ s: subject, t, e: event.client_event_id, documents: over.d ? over.documents : event.documents }));
    persist(store, event, `${api}/consents`);
    deliver();
    apply(choices, true);
    // First the declared cookies of what the choice refuses are cleared (on-demand part: not
    // needed to paint), then the change is announced: what a listener sets afterwards stays.
    const announce = () => emit('change', { action, method, ...getConsent() });
    loadMore()
      .then((m) => m.expireRefused(config, choices))
      .then(announce, announce);
  }

  /**
   * A choice made (banner, preferences, placeholder or API): close the UI and record it. Without
   * `choices`, the action says them (core/decision.js choiceOf), and the action recorded may be
   * its outcome: Accept all under GPC grants less than all (`custom`), as the service requires.
   */
  function decide(action, method, choices) {
    if (!choices) [action, choices] = choiceOf(S.config_, S.granted_, S.gpc_, action);
    hideBanner();
    more?.then((m) => m.closePreferences());
    record(action, choices, method);
  }

  function preferences(opener) {
    loadMore().then(
      (m) =>
        m.showPreferences(S.config_, effectiveChoices(S.config_, S.stored_, S.gpc_), S.gpc_, mount(S.config_), decide, opener, local()),
      fail,
    );
  }

  /**
   * The first layer, with the buttons the config gives for the visitor's mode (`first_layer`).
   * `changed`: documents to name; `kept`: the visitor has choices to keep ("Agree to the update,
   * keep my choices": earlier choices stand, new categories stay off).
   */
  function ask(changed, focus, kept) {
    const config = S.config_;
    const theme = config.theme || {};
    const paint = () =>
      showBanner(
        config,
        texts,
        changed,
        focus,
        // texts.acknowledge: "I agree" to a notice, "Close" on the opt-out notice (the service's)
        [kept && 'keep_choices', ...config.first_layer].filter(Boolean).map((a) => [a, texts[a]]),
        (action, e) => (action === 'settings' ? preferences(e.currentTarget) : decide(action, 'banner')),
        // opt-out mode: the notice says when sale and sharing are off, and whether GPC did it
        config.mode === 'opt-out' && optedOut(config, S.granted_) && (S.gpc_ ? texts.gpc_opted_out : texts.opted_out),
      );
    // The default bar paints now; a box, a modal or a logo is styled by the on-demand part
    // (more.css), so such a banner waits for it
    (theme.logo_url || (theme.position || 'bar') !== 'bar' ? loadMore() : Promise.resolve()).then(paint, paint);
    // Prefetch the on-demand parts once the banner is painted, so Settings opens at once
    setTimeout(loadMore, 99);
  }

  /** The consent in force: {choices, documents, recorded_at, receipt}, or null. */
  function getConsent() {
    const stored = S.stored_;
    if (!stored) return null;
    const kept = local();
    const same = kept.t === stored.t ? kept : {}; // the same choice: hashes and receipt
    const map = (o, f) => Object.fromEntries(Object.keys(o).map((k) => [k, f(o[k])]));
    return {
      choices: map(stored.c, (bit) => bit === 1),
      documents: same.documents || map(stored.d, (version) => ({ version })),
      recorded_at: same.recorded_at || new Date(stored.t * 1000).toISOString(),
      receipt: same.receipt,
    };
  }

  function begin() {
    const config = S.config_;
    if (config.consent_mode?.enabled) {
      // Consent Mode defaults go out before any gated tag can run.
      W.dataLayer = W.dataLayer || [];
      W.gtag =
        W.gtag ||
        function gtag() {
          W.dataLayer.push(arguments);
        };
      // until a choice: only required categories in opt-in mode; the others also run by default
      W.gtag('consent', 'default', { ...consentSignals(config.consent_mode.mapping, effectiveChoices(config, null, S.gpc_)), wait_for_update: 500 });
    }
    if (askReason(config, S.stored_, Date.now())?.reason === 'expired') S.stored_ = null;
    // The GPC rule lives with the on-demand parts: only visitors sending the signal wait for them
    if (S.gpc_ && config.mode !== 'notice')
      loadMore().then((m) => {
        const decision = m.gpcDecision(config, S.stored_, local());
        if (decision) record(decision.action, decision.choices, 'gpc', decision.over);
        settle();
      }, settle);
    else settle();
  }

  /** Gating with the choices in force, then the banner if there is something to ask. */
  function settle() {
    const why = askReason(S.config_, S.stored_, Date.now());
    apply(effectiveChoices(S.config_, S.stored_, S.gpc_), !!S.stored_);
    watch(() => S.granted_, placeholders);
    if (why) ask(why.changed, false, S.config_.mode === 'opt-in' && S.stored_ && !S.stored_.g && (why.reason === 'changed' || why.reason === 'categories'));
  }

  // With a carried config the banner is shown in this very task: no round trip before it paints.
  const ready = embedded ? Promise.resolve(use(embedded)) : loadConfig();
  if (embedded) begin();
  else ready.then(begin);
  ready.catch(fail);

  const later = (fn) => () => ready.then(fn);

  // Footer hooks: data-consentry-open opens the preferences, data-consentry-opt-out the first
  // layer (in opt-out regions the notice with "Do Not Sell or Share My Personal Information")
  D.addEventListener('click', (e) => {
    const opener = e.target.closest?.('[data-consentry-open],[data-consentry-opt-out]');
    if (opener) {
      e.preventDefault();
      ready.then(() => (opener.hasAttribute('data-consentry-open') ? preferences(opener) : ask([], true)));
    }
  });

  W.Consentry = {
    show: later(() => ask([], true)),
    showPreferences: (opener) => ready.then(() => preferences(opener || D.activeElement)),
    getConsent,
    acceptAll: later(() => decide('accept_all', 'api')),
    rejectAll: later(() => decide('reject_all', 'api')),
    optOut: later(() => decide('opt_out', 'api')),
    optIn: later(() => decide('opt_in', 'api')),
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
// The per-site script defines `__consentry` ([config, asked locale]) in a block around this bundle.
// eslint-disable-next-line no-undef
if (script && !W.Consentry) start(script, typeof __consentry !== 'undefined' ? __consentry : undefined);

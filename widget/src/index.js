// The first layer (widget.js, or the per-site script /s/{site}.js that carries its config):
// reads the embedding <script>, shows the banner, gates tags, delivers consents and exposes
// window.Consentry. The preferences dialog and placeholders load on demand (more.js).
import { consentSignals } from './core/consentmode.js';
import { COOKIE_NAME, decodeState, parseCookies, stateCookie } from './core/cookie.js';
import { actionOf, askReason, bits, choose, documentsOf, effectiveChoices } from './core/decision.js';
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
  const subject = S.stored_?.s || local().s || newSubject();
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
  if (pendingEntries(store).length) deliver(); // every page view resends what is still pending
  const hidden = () => beaconAll(store, (url, body) => N.sendBeacon?.(url, new Blob([body], { type: 'text/plain' })));
  W.addEventListener('pagehide', hidden);
  D.addEventListener('visibilitychange', () => D.visibilityState === 'hidden' && hidden());

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
        reject(Error('widget-more.js did not load'));
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
      loadMore().then((m) => m.syncPlaceholders(S.config_, S.granted_, grant), fail);
  }

  /** A placeholder's button: its categories on, the others as they are. */
  function grant(ids) {
    const choices = choose(S.config_, S.gpc_, (c) => S.granted_[c.id] || ids.includes(c.id));
    decide(actionOf(S.config_, choices), 'placeholder', choices);
  }

  /**
   * Record an event: cookie and local state, outbox (persisted before sending), then apply.
   * An automatic GPC refusal over a stored agreement keeps that agreement's document versions
   * (refusing does not agree to newer documents); one on a first visit is flagged `g`.
   */
  function record(action, choices, method) {
    const config = S.config_;
    const stored = S.stored_;
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
    const keep = method === 'gpc' && stored;
    const before = local();
    const previous = before.t === stored?.t && before.documents;
    S.stored_ = { s: subject, t, c: bits(choices), d: keep ? stored.d : versions, r: config.revision?.slice(0, 8), g: method === 'gpc' && !keep ? 1 : undefined };
    D.cookie = stateCookie(S.stored_, config.consent_lifetime_days || 180, location.protocol === 'https:', config.cookie_domain, location.hostname);
    store.set(LOCAL_KEY, JSON.stringify({ s: subject, t, e: event.client_event_id, documents: keep ? previous : event.documents }));
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
   * A choice made (banner, preferences, placeholder or API): close the UI and record it. Accept
   * all under GPC grants less than all: it is recorded by its outcome (`custom`), as the service
   * requires.
   */
  function decide(action, method, choices = choose(S.config_, S.gpc_, () => action !== 'reject_all' && action !== 'withdraw')) {
    hideBanner();
    more?.then((m) => m.closePreferences());
    record(action === 'accept_all' ? actionOf(S.config_, choices) : action, choices, method);
  }

  function preferences(opener) {
    loadMore().then(
      (m) =>
        m.showPreferences(S.config_, effectiveChoices(S.config_, S.stored_, S.gpc_), S.gpc_, mount(S.config_), decide, opener),
      fail,
    );
  }

  /** The first layer. `changed`: documents to name; `kept`: the visitor has choices to keep. */
  function ask(changed, focus, kept) {
    const notice = S.config_.mode === 'notice';
    showBanner(
      S.config_,
      texts,
      changed,
      focus,
      notice
        ? [['acknowledge', texts.agree]]
        : [
            kept && ['keep_choices', texts.keep_choices],
            ['accept_all', texts.accept_all],
            ['reject_all', texts.reject_all],
            ['settings', texts.settings],
          ].filter(Boolean),
      (action, e) => {
        if (action === 'settings') preferences(e.currentTarget);
        // Agree to the update, keep my choices: earlier choices stand, new categories stay off
        else if (action === 'keep_choices') decide(actionOf(S.config_, S.granted_), 'banner', S.granted_);
        else decide(action, 'banner');
      },
    );
    // Prefetch the on-demand parts once the banner is painted, so Settings opens at once
    setTimeout(loadMore, 99);
  }

  /** The consent in force: {choices, documents, recorded_at, receipt}, or null. */
  function getConsent() {
    const stored = S.stored_;
    if (!stored) return null;
    const kept = local();
    const same = kept.t === stored.t ? kept : {}; // the same choice: hashes and receipt
    const choices = {};
    const documents = {};
    for (const k in stored.c) choices[k] = stored.c[k] === 1;
    for (const k in stored.d) documents[k] = { version: stored.d[k] };
    return {
      choices,
      documents: same.documents || documents,
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
      // only required categories count as granted until a choice
      W.gtag('consent', 'default', { ...consentSignals(config.consent_mode.mapping, choose(config, 0, () => 0)), wait_for_update: 500 });
    }
    if (askReason(config, S.stored_, Date.now())?.reason === 'expired') S.stored_ = null;
    // The GPC rule lives with the on-demand parts: only visitors sending the signal wait for them
    if (S.gpc_ && config.mode !== 'notice')
      loadMore().then((m) => {
        const decision = m.gpcDecision(config, S.stored_ && effectiveChoices(config, S.stored_, false));
        if (decision) record(decision.action, decision.choices, 'gpc');
        settle();
      }, settle);
    else settle();
  }

  /** Gating with the choices in force, then the banner if there is something to ask. */
  function settle() {
    const why = askReason(S.config_, S.stored_, Date.now());
    apply(effectiveChoices(S.config_, S.stored_, S.gpc_), !!S.stored_);
    watch(() => S.granted_, placeholders);
    if (why) ask(why.changed, false, S.stored_ && !S.stored_.g && (why.reason === 'changed' || why.reason === 'categories'));
  }

  // With a carried config the banner is shown in this very task: no round trip before it paints.
  const ready = embedded ? Promise.resolve(use(embedded)) : loadConfig();
  if (embedded) begin();
  else ready.then(begin);
  ready.catch(fail);

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
// The per-site script defines `__consentry` ([config, asked locale]) in a block around this bundle.
// eslint-disable-next-line no-undef
if (script && !W.Consentry) start(script, typeof __consentry !== 'undefined' ? __consentry : undefined);

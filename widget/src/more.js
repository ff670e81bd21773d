// The on-demand parts (widget-more.js): the preferences dialog and placeholders. The first layer
// loads this file from its own origin and receives these functions in a `consentry:more` event.
import { expiryAssignments, parseCookies } from './core/cookie.js';
import { gpcDecision } from './core/decision.js';
import { b64uDecode, b64uEncode } from './core/ids.js';
import { createOutbox, fetchSender, withCookie } from './core/outbox.js';
import { readJSON } from './core/storage.js';
import { adopt } from './ui/dom.js';
import CSS from './ui/more.css';
import { syncPlaceholders } from './ui/placeholders.js';
import { closePreferences, showPreferences } from './ui/preferences.js';

const ID_KEY = 'consentry.subject';
const ID_COOKIE = 'consentry_id';
let shared; // the site's cookie domain and lifetime, once a choice has been made here

/**
 * The subject's tokens, in localStorage and, on a site whose subdomains share the consent cookie
 * (`cookie_domain`), in a cookie on that domain too: the subject is shared, so is its token.
 */
const identityCookie = {
  get() {
    try {
      return b64uDecode(parseCookies(document.cookie)[ID_COOKIE] || '') || null;
    } catch {
      return null;
    }
  },
  set(value) {
    const host = location.hostname;
    const domain = shared?.cookie_domain;
    if (!domain || (host !== domain && !host.endsWith(`.${domain}`))) return;
    const days = shared.consent_lifetime_days || 180;
    document.cookie = `${ID_COOKIE}=${b64uEncode(value)};Path=/;Max-Age=${days * 86400};SameSite=Lax${location.protocol === 'https:' ? ';Secure' : ''};Domain=${domain}`;
  },
};

/** After a choice: expire the declared cookies of every category it does not grant. */
function expireRefused(config, choices) {
  shared = config; // where the identity cookie goes (see identityCookie)
  for (const c of config.categories) {
    if (choices[c.id]) continue;
    const names = (c.cookies || []).map((k) => k.name);
    for (const a of expiryAssignments(names, Object.keys(parseCookies(document.cookie)), location.hostname)) document.cookie = a;
  }
}

/**
 * The outbox that sends the first layer's persisted events, in order, with the subject's token
 * (core/outbox.js): a receipt is stored beside the local state (`localKey`) when it answers the
 * latest event, with the subject it was recorded for (a new one when the old one's token was
 * gone); a refused event is reported as a `consentry:error` event; `onOutdated(event)` when the
 * documents changed meanwhile.
 */
function startDelivery(storage, localKey, onOutdated) {
  return createOutbox({
    storage: withCookie(storage, ID_KEY, identityCookie),
    send: fetchSender((url, init) => fetch(url, init)),
    onDelivered(event, answer) {
      const local = readJSON(storage, localKey) || {};
      if (event.client_event_id !== local.e) return; // an older event: its receipt is superseded
      local.s = event.subject;
      local.receipt = answer.receipt;
      local.subject_token = answer.subject_token;
      local.recorded_at = answer.recorded_at;
      storage.set(localKey, JSON.stringify(local));
    },
    onDropped: (event, answer) =>
      document.dispatchEvent(new CustomEvent('consentry:error', { detail: { event, status: answer.status, error: answer.body?.error } })),
    onOutdated,
  });
}

adopt(CSS);
document.dispatchEvent(
  new CustomEvent('consentry:more', {
    detail: { showPreferences, closePreferences, syncPlaceholders, expireRefused, startDelivery, gpcDecision },
  }),
);

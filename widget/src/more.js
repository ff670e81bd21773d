// The on-demand parts (widget-more.js): the preferences dialog and placeholders. The first layer
// loads this file from its own origin and receives these functions in a `consentry:more` event.
import { expiryAssignments, parseCookies } from './core/cookie.js';
import { gpcDecision } from './core/decision.js';
import { createOutbox, fetchSender } from './core/outbox.js';
import { readJSON } from './core/storage.js';
import { adopt } from './ui/dom.js';
import CSS from './ui/more.css';
import { syncPlaceholders } from './ui/placeholders.js';
import { closePreferences, showPreferences } from './ui/preferences.js';

/** After a choice: expire the declared cookies of every category it does not grant. */
function expireRefused(config, choices) {
  for (const c of config.categories) {
    if (choices[c.id]) continue;
    const names = (c.cookies || []).map((k) => k.name);
    for (const a of expiryAssignments(names, Object.keys(parseCookies(document.cookie)), location.hostname)) document.cookie = a;
  }
}

/**
 * The outbox that sends the first layer's persisted events: a receipt is stored beside the
 * local state (`localKey`) when it answers the latest event; a refused event is reported as a
 * `consentry:error` event; `onOutdated(event)` when the documents changed meanwhile.
 */
function startDelivery(storage, localKey, onOutdated) {
  return createOutbox({
    storage,
    send: fetchSender((url, init) => fetch(url, init)),
    onDelivered(event, answer) {
      const local = readJSON(storage, localKey) || {};
      if (event.client_event_id !== local.e) return; // an older event: its receipt is superseded
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

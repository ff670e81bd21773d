// The preferences dialog: a native modal <dialog> (the page and the banner behind it are inert,
// Escape closes it), loaded on demand.
import { choose, savedAction } from '../core/decision.js';
import { receiptUrl } from '../core/receipt.js';
import { button, h } from './dom.js';

let dialog;
let returnTo;
let fallbackFocus;

/**
 * Show the dialog in `root` (the widget's container).
 * - `choices`: current {category: bool}; `gpc`: the GPC signal is honoured (sale/sharing
 *   switches locked off).
 * - `decide(action, method, choices?)`: records a choice (the first layer's; without choices
 *   it derives them from the action).
 * - `opener` gets focus back on close (else `root`).
 * - `kept`: the local state of the last choice; once its receipt is there, the dialog links the
 *   visitor's receipt page.
 * Positional arguments: the first layer calls this across bundles, where names cost bytes.
 * Server text (category names and descriptions, cookie details) gets `dir="auto"`: a site's
 * English text in an Arabic dialog keeps its own direction, full stops at the right end.
 */
export function showPreferences(config, choices, gpc, root, decide, opener, kept) {
  const texts = config.texts;
  closePreferences();
  returnTo = opener;
  fallbackFocus = root;
  const boxes = {};
  const rows = config.categories.map((c) => {
    const locked = c.required || (gpc && c.sale_or_sharing);
    boxes[c.id] = h('input', { type: 'checkbox', role: 'switch', checked: c.required || (!locked && choices[c.id]), disabled: locked });
    const cookies = c.cookies || [];
    return h(
      'div',
      { class: 'c' },
      h('label', null, boxes[c.id], h('span', { dir: 'auto' }, c.title), c.required && h('small', null, ` (${texts.required})`)),
      c.description && h('p', { dir: 'auto' }, c.description),
      cookies.length > 0 &&
        h(
          'details',
          null,
          h('summary', null, `${texts.cookies} (${cookies.length})`),
          h('ul', null, cookies.map((k) => h('li', { dir: 'auto' }, h('b', null, k.name), [k.provider, k.duration, k.purpose].filter(Boolean).map((x) => ` · ${x}`)))),
        ),
    );
  });
  const onChoice = (action) => {
    if (action !== 'save') return decide(action, 'preferences');
    const picked = choose(config, gpc, (c) => boxes[c.id].checked);
    decide(savedAction(config, choices, picked), 'preferences', picked);
  };
  const receipt = receiptUrl(config.receipt_url, kept);
  dialog = h(
    'dialog',
    { class: 'p', 'aria-labelledby': 'consentry-pt' },
    h('h2', { id: 'consentry-pt' }, texts.settings),
    gpc && h('p', null, texts.gpc_honoured),
    rows,
    receipt && h('p', null, h('a', { href: receipt, target: '_blank' }, texts.receipt)),
    // Accept all, Reject all and Save: equal weight, as on the first layer
    h(
      'div',
      { class: 'k' },
      [
        ['accept_all', texts.accept_all],
        ['reject_all', texts.reject_all],
        ['save', texts.save],
      ].map(([action, label]) => button(label, action, onChoice)),
      button(texts.close, 'close', closePreferences),
    ),
  );
  // Escape: `cancel` fires at once; the later `close` event could hit a dialog opened since.
  dialog.oncancel = closePreferences;
  dialog.onkeydown = (e) => {
    // Keep Tab inside (browsers would move on to their own toolbar)
    if (e.key !== 'Tab') return;
    const list = dialog.querySelectorAll('a[href],button,input:enabled,summary');
    const first = list[0];
    const last = list[list.length - 1];
    if (document.activeElement === (e.shiftKey ? first : last)) {
      e.preventDefault();
      (e.shiftKey ? last : first).focus();
    }
  };
  root.append(dialog);
  dialog.showModal();
}

export function closePreferences() {
  if (!dialog) return;
  const open = dialog;
  dialog = null;
  open.close();
  open.remove();
  // The opener may be gone (Settings of a banner that a choice closed): then the widget's root,
  // where the banner was, so the next Tab goes on from the start of the page, not from nowhere.
  (returnTo?.isConnected ? returnTo : fallbackFocus)?.focus();
}

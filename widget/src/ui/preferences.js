// The preferences dialog: a native modal <dialog> (the page and the banner behind it are inert,
// Escape closes it), loaded on demand.
import { actionOf, choose } from '../core/decision.js';
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
 * Positional arguments: the first layer calls this across bundles, where names cost bytes.
 */
export function showPreferences(config, choices, gpc, root, decide, opener) {
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
      h('label', null, boxes[c.id], c.title, c.required && h('small', null, ` (${texts.required})`)),
      c.description && h('p', null, c.description),
      cookies.length > 0 &&
        h(
          'details',
          null,
          h('summary', null, `${texts.cookies} (${cookies.length})`),
          h('ul', null, cookies.map((k) => h('li', null, h('b', null, k.name), [k.provider, k.duration, k.purpose].filter(Boolean).map((x) => ` · ${x}`)))),
        ),
    );
  });
  const onChoice = (action) => {
    if (action !== 'save') return decide(action, 'preferences');
    const picked = choose(config, gpc, (c) => boxes[c.id].checked);
    decide(actionOf(config, picked), 'preferences', picked);
  };
  const receipt = config.receipt_url;
  dialog = h(
    'dialog',
    {
      class: 'p',
      'aria-labelledby': 'consentry-pt',
      // Escape: `cancel` fires at once; the later `close` event could hit a dialog opened since.
      oncancel: closePreferences,
      onkeydown: (e) => {
        // Keep Tab inside (browsers would move on to their own toolbar)
        if (e.key !== 'Tab') return;
        const list = dialog.querySelectorAll('a[href],button,input:enabled,summary');
        const first = list[0];
        const last = list[list.length - 1];
        if (document.activeElement === (e.shiftKey ? first : last)) {
          e.preventDefault();
          (e.shiftKey ? last : first).focus();
        }
      },
    },
    h('h2', { id: 'consentry-pt' }, texts.settings),
    gpc && h('p', null, texts.gpc_honoured),
    rows,
    receipt && texts.receipt && h('p', null, h('a', { href: receipt, target: '_blank' }, texts.receipt)),
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

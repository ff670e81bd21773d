// The banner (first layer, non-modal) and the preferences dialog (native modal <dialog>), in one
// shadow root.
import { focusables, h, safeUrl } from './dom.js';
import CSS from './styles.css';

let root;
let frame; // holds both layers; focusable by script only, as the focus of last resort
let banner;
let overlay;
let returnTo;

function mount(dir) {
  if (!root) {
    const host = h('div', { id: 'consentry', dir });
    root = host.attachShadow({ mode: 'open' });
    try {
      // Constructable stylesheet: no <style> element, no style attribute, so `style-src 'self'` holds.
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch {
      // very old browser: unstyled but working
    }
    root.append((frame = h('div', { class: 'f', tabindex: '-1' })));
    (document.body || document.documentElement).prepend(host); // first in tab order; fixed: no layout shift
  }
  return frame;
}

// `data-consentry-action` names what a button does, for tools that act on banners (scanners,
// auto-refusal extensions, the console preview): a stable selector that survives translation.
// `onclick(action, event)`.
const button = (label, action, onclick) =>
  h('button', { type: 'button', 'data-consentry-action': action, onclick: (e) => onclick(action, e) }, label);

const policyLink = (doc, href) =>
  h('a', { href: safeUrl(href), target: '_blank' }, doc.title); // _blank implies noopener

/**
 * Show the first layer. `changed`: documents to name as changed. `onChoice(action)` for the
 * buttons; `onSettings(button)` for Settings. `focus`: move focus in (when opened on request).
 */
export function showBanner({ config, texts, changed, onChoice, onSettings, focus }) {
  hideBanner();
  const notice = config.mode === 'notice';
  const links = config.documents.filter((d) => safeUrl(d.url)).map((d) => policyLink(d, d.url));
  banner = h(
    'div',
    { class: 'b', role: 'dialog', 'aria-labelledby': 'ct', 'aria-describedby': 'cd', },
    h('h2', { id: 'ct' }, texts.title),
    h('p', { id: 'cd' }, texts.description),
    changed.length > 0 && [
      h('p', null, texts.changed),
      h(
        'ul',
        null,
        changed.map((d) => h('li', null, policyLink(d, d.diff_url || d.url), d.summary ? `: ${d.summary}` : '')),
      ),
    ],
    links.length > 0 && h('p', null, links.flatMap((a, i) => (i ? [' · ', a] : [a]))),
    h(
      'div',
      { class: 'k' },
      notice
        ? button(texts.agree, 'acknowledge', onChoice)
        : [
            button(texts.accept_all, 'accept_all', onChoice),
            button(texts.reject_all, 'reject_all', onChoice),
            button(texts.settings, 'settings', (_, e) => onSettings(e.currentTarget)),
          ],
    ),
  );
  mount(config.dir).append(banner);
  if (focus) banner.querySelector('button').focus();
}

export function hideBanner() {
  if (banner) banner.remove();
  banner = null;
}

/**
 * Show the modal preferences dialog. `choices`: current {category: bool}; `gpc`: the GPC
 * signal is honoured (sale/sharing switches locked off). `onSave(choices)`; `opener` gets
 * focus back on close.
 */
export function showPreferences({ config, texts, choices, gpc, onSave, opener }) {
  closePreferences();
  returnTo = opener;
  const boxes = {};
  const rows = config.categories.map((c) => {
    const locked = c.required || (gpc && c.sale_or_sharing);
    boxes[c.id] = h('input', {
      type: 'checkbox',
      role: 'switch',
      checked: c.required || (!locked && choices[c.id]),
      disabled: locked,
    });
    const cookies = c.cookies || [];
    return h(
      'div',
      { class: 'c' },
      h('label', null, boxes[c.id], c.title, c.required && h('small', null, texts.required)),
      c.description && h('p', null, c.description),
      cookies.length > 0 &&
        h(
          'details',
          null,
          h('summary', null, `${texts.cookies} (${cookies.length})`),
          h(
            'ul',
            null,
            cookies.map((k) =>
              h('li', null, h('b', null, k.name), [k.provider, k.duration, k.purpose].filter(Boolean).map((x) => ` · ${x}`)),
            ),
          ),
        ),
    );
  });
  // A native modal <dialog>: the page and the banner behind it are inert, Escape closes it.
  const dialog = h(
    'dialog',
    {
      class: 'p',
      'aria-labelledby': 'pt',
      // Escape: `cancel` fires at once; the later `close` event could hit a dialog opened since.
      oncancel: closePreferences,
      onkeydown: (e) => {
        // Keep Tab inside (browsers would move on to their own toolbar)
        if (e.key !== 'Tab') return;
        const list = focusables(dialog);
        const first = list[0];
        const last = list[list.length - 1];
        if (root.activeElement === (e.shiftKey ? first : last)) {
          e.preventDefault();
          (e.shiftKey ? last : first).focus();
        }
      },
    },
    h('h2', { id: 'pt' }, texts.settings),
    gpc && h('p', null, texts.gpc_honoured),
    rows,
    h(
      'div',
      { class: 'k' },
      button(texts.save, 'save', () => {
        const picked = {};
        for (const id in boxes) picked[id] = boxes[id].checked;
        onSave(picked);
      }),
      button(texts.close, 'close', closePreferences),
    ),
  );
  overlay = dialog;
  mount(config.dir).append(dialog);
  dialog.showModal();
}

export function closePreferences() {
  if (!overlay) return;
  const dialog = overlay;
  overlay = null;
  dialog.close();
  dialog.remove();
  // The opener may be gone (Settings of a banner that a choice closed): then the widget's frame,
  // where the banner was, so the next Tab goes on from the start of the page, not from nowhere.
  (returnTo?.isConnected ? returnTo : frame).focus();
}

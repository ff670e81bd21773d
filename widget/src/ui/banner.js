// The first layer: a non-modal banner (`bar` or `box`) or a native modal <dialog> (`modal`), in
// the light DOM under #consentry, so that auto-refusal tools find its buttons; styled by an
// adopted, layered, all-important stylesheet, so that the host page cannot restyle it.
import CSS from './banner.css';
import { adopt, button, h, safeUrl } from './dom.js';

let root; // #consentry: holds the banner and the preferences dialog
let banner;
// theme key -> custom property (--consentry-a, -t, -b, -r) used by banner.css and more.css
const THEME = ['accent', 'text', 'background', 'radius'];

/** The widget's root element, made on first use with the site's theme (custom properties). */
export function mount(config) {
  if (!root) {
    adopt(CSS);
    // tabindex -1: the focus of last resort when the control that had it is gone
    root = h('div', { id: 'consentry', dir: config.dir, lang: config.locale, tabindex: '-1' });
    const theme = config.theme || {};
    // CSSOM, not a style attribute: allowed under a strict style-src
    for (const k of THEME) if (theme[k] != null) root.style.setProperty(`--consentry-${k[0]}`, k === 'radius' ? `${theme[k]}px` : theme[k]);
    const body = document.body;
    // First in tab order; fixed or in the top layer: no layout shift
    body ? body.prepend(root) : document.documentElement.append(root);
  }
  return root;
}

const A = { dir: 'auto' };
const policyLink = (doc, href) => h('a', { href: safeUrl(href), target: '_blank' }, doc.title); // _blank implies noopener

/**
 * Show the first layer. `changed`: documents to name as changed; `focus`: move focus in (when
 * opened on request); `buttons`: [[action, label], ...] in order; `onChoice(action, event)` for
 * each; `note`: a line shown above the buttons. Server text gets `dir="auto"` (`A`): a site's
 * English text in a right-to-left banner keeps its own direction and punctuation.
 */
export function showBanner(config, texts, changed, focus, buttons, onChoice, note) {
  hideBanner();
  const position = config.theme?.position || 'bar';
  const logo = safeUrl(config.theme?.logo_url);
  const links = config.documents.filter((d) => safeUrl(d.url)).map((d) => policyLink(d, d.url));
  banner = h(
    position === 'modal' ? 'dialog' : 'div',
    { class: `b ${position}`, role: position === 'modal' ? null : 'dialog', 'aria-labelledby': 'consentry-t', 'aria-describedby': 'consentry-d' },
    logo && h('img', { src: logo, alt: '' }),
    h('h2', { id: 'consentry-t', ...A }, texts.title),
    h('p', { id: 'consentry-d', ...A }, texts.description),
    changed.length > 0 && [
      h('p', null, texts.changed),
      h('ul', null, changed.map((d) => h('li', A, policyLink(d, d.diff_url || d.url), d.summary ? `: ${d.summary}` : ''))),
    ],
    note && h('p', A, note),
    links.length > 0 && h('p', A, links.flatMap((a, i) => (i ? [' · ', a] : [a]))),
    h('div', { class: 'k' }, buttons.map(([action, label]) => button(label, action, onChoice))),
  );
  mount(config).append(banner);
  if (position === 'modal') {
    banner.addEventListener('cancel', (e) => e.preventDefault()); // a choice is needed: Escape does not dismiss
    banner.showModal();
  }
  if (focus) banner.querySelector('button').focus();
}

export function hideBanner() {
  banner?.remove();
  banner = null;
}

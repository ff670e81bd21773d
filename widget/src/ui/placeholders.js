// Placeholders for content that waits for consent: a blocked `<iframe data-consent>` and any
// element marked `data-consentry-placeholder="category ..."`. Each names the categories, says
// why, and offers a button that grants them. A frame's placeholder takes the frame's exact box
// (the frame is hidden, the placeholder sized to it): nothing around it moves.
import { h } from './dom.js';

const SELECTOR = 'iframe[data-consent],[data-consentry-placeholder]';
const shown = new Map(); // element -> its placeholder

const categoriesOf = (el) => (el.getAttribute('data-consentry-placeholder') || el.getAttribute('data-consent')).split(/\s+/).filter(Boolean);

function placeholderFor(el, config, texts, ids, onGrant) {
  const theme = config.theme || {};
  const titles = ids.map((id) => config.categories.find((c) => c.id === id)?.title || id).join(', ');
  const block = getComputedStyle(el).display === 'block';
  const box = h(
    'div',
    { class: `consentry-ph${block ? ' blk' : ''}`, role: 'region', 'aria-label': `${texts.placeholder_title}: ${titles}`, dir: config.dir, lang: config.locale },
    h('p', null, h('strong', null, titles)),
    h('p', null, texts.placeholder_reason),
    h('button', { type: 'button', 'data-consentry-action': 'grant', 'data-consentry-categories': ids.join(' '), onclick: () => onGrant(ids) }, texts.placeholder_button),
  );
  // the site's theme, as on the banner (the placeholder lives outside #consentry)
  for (const k of ['accent', 'text', 'background', 'radius'])
    if (theme[k] != null) box.style.setProperty(`--consentry-${k[0]}`, k === 'radius' ? `${theme[k]}px` : theme[k]);
  if (el.tagName === 'IFRAME') {
    // Measured before hiding: the placeholder keeps the frame's box. CSSOM (allowed under a
    // strict style-src), important so that no host rule resizes it.
    const { width, height } = el.getBoundingClientRect();
    box.style.setProperty('width', `${width}px`, 'important');
    box.style.setProperty('height', `${height}px`, 'important');
    el.hidden = true;
    el.before(box);
  } else el.append(box);
  return box;
}

/**
 * Bring placeholders in line with `granted`: add one for each blocked element without one,
 * remove those whose categories are now granted (their frame shows again).
 */
export function syncPlaceholders(config, granted, onGrant) {
  const texts = config.texts;
  for (const [el, box] of shown) {
    if (!el.isConnected || categoriesOf(el).every((c) => granted[c])) {
      box.remove();
      el.hidden = false;
      shown.delete(el);
    }
  }
  for (const el of document.querySelectorAll(SELECTOR)) {
    const ids = categoriesOf(el);
    if (!shown.has(el) && !ids.every((c) => granted[c])) shown.set(el, placeholderFor(el, config, texts, ids, onGrant));
  }
}

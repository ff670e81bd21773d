// Placeholders for content that waits for consent: a blocked `<iframe data-consent>` and any
// element marked `data-consentry-placeholder="category ..."`. Each names the categories, says
// why, and offers a button that grants them. A frame's placeholder takes the frame's exact box
// (the frame is hidden, the placeholder sized to it): nothing around it moves.
import { choose, savedAction } from '../core/decision.js';
import { h } from './dom.js';

const SELECTOR = 'iframe[data-consent],[data-consentry-placeholder]';
const shown = new Map(); // element -> its placeholder
let now; // the latest sync's [config, granted, gpc, decide]: what a button's click acts on

/**
 * A placeholder's button: its categories on, the others as they are; recorded by outcome
 * (`opt_in` in opt-out mode when it turns sale/sharing back on), method `placeholder`.
 */
function grant(ids) {
  const [config, granted, gpc, decide] = now;
  const choices = choose(config, gpc, (c) => granted[c.id] || ids.includes(c.id));
  decide(savedAction(config, granted, choices), 'placeholder', choices);
}

const categoriesOf = (el) => (el.getAttribute('data-consentry-placeholder') || el.getAttribute('data-consent')).split(/\s+/).filter(Boolean);

function placeholderFor(el, config, texts, ids) {
  const theme = config.theme || {};
  const titles = ids.map((id) => config.categories.find((c) => c.id === id)?.title || id).join(', ');
  const block = getComputedStyle(el).display === 'block';
  const box = h(
    'div',
    { class: `consentry-ph${block ? ' blk' : ''}`, role: 'region', 'aria-label': `${texts.placeholder_title}: ${titles}`, dir: config.dir, lang: config.locale },
    h('p', { dir: 'auto' }, h('strong', null, titles)),
    h('p', null, texts.placeholder_reason),
    h('button', { type: 'button', 'data-consentry-action': 'grant', 'data-consentry-categories': ids.join(' ') }, texts.placeholder_button),
  );
  box.lastChild.onclick = () => grant(ids);
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
 * remove those whose categories are now granted (their frame shows again). `gpc`: the signal is
 * honoured; `decide(action, method, choices)` records a button's grant (the first layer's).
 */
export function syncPlaceholders(config, granted, gpc, decide) {
  now = [config, granted, gpc, decide];
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
    if (!shown.has(el) && !ids.every((c) => granted[c])) shown.set(el, placeholderFor(el, config, texts, ids));
  }
}

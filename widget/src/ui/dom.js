// Tiny DOM helpers. Text always goes in as Text nodes: server strings are never parsed as HTML.

/**
 * Create an element. `attrs` are attributes: `true` sets an empty one, null/false/undefined are
 * skipped; never `on<event>` (listeners are set by the caller as properties, e.g. `el.onclick`,
 * which a strict CSP allows). Children: nodes or strings (as text), null skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (v != null && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c);
  return el;
}

/**
 * A button. `data-consentry-action` names what it does, for tools that act on banners (scanners,
 * auto-refusal extensions, the console preview): a selector that survives translation.
 * `onclick(action, event)`.
 */
export function button(label, action, onclick) {
  const el = h('button', { type: 'button', 'data-consentry-action': action }, label);
  el.onclick = (e) => onclick(action, e);
  return el;
}

/** Only http(s) links from the config become hrefs. */
export const safeUrl = (url) => (/^https?:\/\//i.test(url || '') ? url : null);

/**
 * Add a stylesheet to the document as a constructable stylesheet: no <style> element and no style
 * attribute, so a strict `style-src` holds. The build wraps the rules in a cascade layer and
 * marks every declaration `!important`: a layered important declaration beats any unlayered one
 * of the host page, whatever its specificity (style isolation without a shadow root, which
 * auto-refusal tools and assistive tech search better).
 */
export function adopt(css) {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } catch {
    // very old browser: unstyled but working
  }
}

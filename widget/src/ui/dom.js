// Tiny DOM helpers. Text always goes in as Text nodes: server strings are never parsed as HTML.

/**
 * Create an element. `attrs`: `on<event>` keys add listeners, `true` sets an empty attribute,
 * null/false/undefined are skipped. Children: nodes or strings (as text), null skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const k in attrs) {
    const v = attrs[k];
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v != null && v !== false) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c);
  return el;
}

/**
 * A button. `data-consentry-action` names what it does, for tools that act on banners (scanners,
 * auto-refusal extensions, the console preview): a selector that survives translation.
 * `onclick(action, event)`.
 */
export const button = (label, action, onclick) =>
  h('button', { type: 'button', 'data-consentry-action': action, onclick: (e) => onclick(action, e) }, label);

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

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

/** Only http(s) links from the config become hrefs. */
export const safeUrl = (url) => (/^https?:\/\//i.test(url || '') ? url : null);

/** The focusable controls inside a container, in tab order. */
export const focusables = (root) => root.querySelectorAll('a[href],button,input:enabled,summary');

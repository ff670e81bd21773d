// Activation of gated tags, in document order:
//   <script type="text/plain" data-consent="analytics" [data-type="module"] src=...>  (or inline)
//   <iframe data-consent="marketing" data-src="...">
// `data-consent` may list several categories separated by spaces: all must be granted.

const SELECTOR = 'script[data-consent],iframe[data-consent]';
const queued = new WeakSet();
let chain = Promise.resolve();

const allowed = (el, granted) => el.getAttribute('data-consent').split(/\s+/).every((c) => granted[c] === true);

// A fresh script element runs; a type change on the parsed one would not.
function runScript(old) {
  if (!old.isConnected) return; // removed by the page meanwhile
  const s = document.createElement('script');
  for (const { name, value } of old.attributes) {
    if (name !== 'type' && name !== 'data-consent' && name !== 'data-type') s.setAttribute(name, value);
  }
  const type = old.getAttribute('data-type');
  if (type) s.type = type;
  s.nonce = old.nonce; // the nonce attribute reads empty once parsed; the property keeps it
  s.text = old.text;
  if (!s.src) return old.replaceWith(s); // inline: runs on insertion
  s.async = false; // keep the execution order of external scripts
  return new Promise((done) => {
    s.onload = s.onerror = done;
    old.replaceWith(s);
  });
}

/**
 * Activate every gated element whose categories are all granted, scripts one after another in
 * document order (an inline script waits for the external scripts before it).
 */
export function activate(granted) {
  for (const el of document.querySelectorAll(SELECTOR)) {
    const ok = allowed(el, granted);
    if (el.tagName === 'IFRAME') {
      const src = el.getAttribute('data-src');
      if (ok && src) {
        el.src = src;
        el.removeAttribute('data-src');
      } else if (!ok && el.src) {
        // Refused or withdrawn: a fresh element without src unloads the frame's document.
        el.setAttribute('data-src', el.getAttribute('src'));
        el.removeAttribute('src');
        el.replaceWith(el.cloneNode());
      }
    } else if (ok && !queued.has(el) && el.type === 'text/plain') {
      queued.add(el);
      chain = chain.then(() => runScript(el));
    }
  }
  return chain;
}

const WATCHED = `${SELECTOR},[data-consentry-placeholder]`;

/**
 * Watch for gated elements added later (single-page apps rendering a new route) and activate
 * them with the current choices; then `added()` (placeholders for what stays blocked).
 */
export function watch(getGranted, added) {
  new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.addedNodes) {
        if (n.nodeType === 1 && !n.closest('#consentry,.consentry-ph') && (n.matches(WATCHED) || n.querySelector(WATCHED))) {
          activate(getGranted());
          return added();
        }
      }
    }
  }).observe(document.documentElement, { childList: true, subtree: true });
}

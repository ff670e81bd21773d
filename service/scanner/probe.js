// Injected by the scanner into every frame before the page's own scripts (Playwright init
// script). It reports each document.cookie write with the stack that made it, and keeps the
// page's gated elements so the scanner can tell afterwards which ones the banner activated.
(() => {
  if (window.__consentryScan) return;
  const gated = [];
  const seen = new WeakSet();
  const keep = (el) => {
    if (seen.has(el)) return;
    seen.add(el);
    gated.push({ el, src: el.getAttribute('src') || el.getAttribute('data-src') || '' });
  };
  const collect = (root) => {
    for (const el of root.querySelectorAll('script[type="text/plain"][data-consent],iframe[data-consent]')) keep(el);
  };
  new MutationObserver((records) => {
    for (const r of records) {
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        if (n.matches('script[type="text/plain"][data-consent],iframe[data-consent]')) keep(n);
        collect(n);
      }
    }
  }).observe(document, { childList: true, subtree: true });

  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
  if (cookie && cookie.set) {
    Object.defineProperty(Document.prototype, 'cookie', {
      configurable: true,
      enumerable: cookie.enumerable,
      get() { return cookie.get.call(this); },
      set(value) {
        try {
          const report = window.__consentryScanCookie;
          if (typeof report === 'function') report(String(value), String(new Error().stack || ''));
        } catch (e) { /* a broken report never breaks the page */ }
        cookie.set.call(this, value);
      },
    });
  }

  const ran = ({ el }) => {
    if (el.tagName === 'IFRAME') return el.hasAttribute('src') || !el.isConnected;
    return !el.isConnected || el.type !== 'text/plain';
  };
  Object.defineProperty(window, '__consentryScan', {
    value: () => gated.map((g) => ({
      tag: g.el.tagName.toLowerCase(),
      categories: (g.el.getAttribute('data-consent') || '').split(/\s+/).filter(Boolean),
      src: g.src,
      ran: ran(g),
    })),
  });
})();

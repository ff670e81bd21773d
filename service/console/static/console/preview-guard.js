// Runs before the widget in the console's preview frame: the widget works as on a real page, but
// its storage lives in memory and its consent requests are answered here, so a preview never
// records a consent nor keeps one in the console's own storage.
(() => {
  const memory = new Map();
  const storage = {
    getItem: (key) => (memory.has(key) ? memory.get(key) : null),
    setItem: (key, value) => memory.set(key, String(value)),
    removeItem: (key) => memory.delete(key),
    clear: () => memory.clear(),
    key: (index) => Array.from(memory.keys())[index] ?? null,
    get length() { return memory.size; },
  };
  Object.defineProperty(window, "localStorage", { value: storage });
  Object.defineProperty(window, "sessionStorage", { value: storage });
  let cookies = "";
  Object.defineProperty(document, "cookie", {
    get: () => cookies,
    set: (value) => {
      const [pair] = String(value).split(";");
      const name = pair.split("=")[0].trim();
      const kept = cookies.split("; ").filter((c) => c && c.split("=")[0] !== name);
      if (!/max-age=0|expires=Thu, 01 Jan 1970/i.test(value)) kept.push(pair.trim());
      cookies = kept.join("; ");
    },
  });
  const isConsent = (url) => /\/consents(\?|$)/.test(new URL(url, location.href).pathname + "");
  const realFetch = window.fetch.bind(window);
  window.fetch = (input, init = {}) => {
    const url = typeof input === "string" ? input : input.url;
    if ((init.method || "GET").toUpperCase() === "POST" && isConsent(url)) {
      const body = JSON.stringify({ preview: true });
      return Promise.resolve(new Response(body, { status: 202, headers: { "Content-Type": "application/json" } }));
    }
    return realFetch(input, init);
  };
  navigator.sendBeacon = () => true;
})();

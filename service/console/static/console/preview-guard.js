// Runs before the widget in the console's preview frame: the widget works as on a real page, but
// its storage lives in memory and its consent requests are answered here, so a preview never
// records a consent nor keeps one in the console's own storage. A draft's banner config comes on
// the frame's element in the console page (data-preview-config; same origin) and answers the
// widget's config request in place of the site's config in force.
(() => {
  const frame = window.frameElement; // null when the sample page is opened on its own
  const draft = frame ? frame.getAttribute("data-preview-config") : null;
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
  const pathOf = (url) => new URL(url, location.href).pathname;
  const isConsent = (url) => /\/consents$/.test(pathOf(url));
  const isConfig = (url) => /\/api\/v1\/sites\/[^/]+\/banner$/.test(pathOf(url));
  const json = (body, status) =>
    Promise.resolve(new Response(body, { status, headers: { "Content-Type": "application/json" } }));
  const realFetch = window.fetch.bind(window);
  window.fetch = (input, init = {}) => {
    const url = typeof input === "string" ? input : input.url;
    const method = (init.method || (typeof input === "string" ? "GET" : input.method)).toUpperCase();
    if (method === "POST" && isConsent(url)) return json(JSON.stringify({ preview: true }), 202);
    if (method === "GET" && draft && isConfig(url)) return json(draft, 200);
    return realFetch(input, init);
  };
  navigator.sendBeacon = () => true;
})();

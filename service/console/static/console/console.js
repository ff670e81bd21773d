// Small progressive enhancements; every page also works without them.
const modules = {
  "integrity": () => import("./integrity.js"),
  "confirm": () => import("./confirm.js"),
  "editor": () => import("./editor.js"),
};

for (const element of document.querySelectorAll("[data-module]")) {
  const load = modules[element.dataset.module];
  if (load) load().then((module) => module.start(element));
}

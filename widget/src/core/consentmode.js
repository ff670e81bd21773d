// Google Consent Mode v2 signals from the site's mapping {signal: [category ids]}.
// A signal is granted only when its list is non-empty and every listed category is granted:
// an empty list (or an unknown category) is denied, the safe reading of "nothing allows it".

/** `{signal: 'granted'|'denied'}` for the given choices. */
export function consentSignals(mapping, choices) {
  const out = {};
  for (const signal in mapping) {
    const cats = mapping[signal] || [];
    out[signal] = cats.length && cats.every((id) => choices[id] === true) ? 'granted' : 'denied';
  }
  return out;
}

/** The `gtag('consent', 'default', ...)` payload: only required categories count as granted. */
export function consentDefault(config) {
  const required = {};
  for (const c of config.categories) required[c.id] = !!c.required;
  return { ...consentSignals(config.consent_mode.mapping, required), wait_for_update: 500 };
}

/** The `gtag('consent', 'update', ...)` payload after a choice. */
export const consentUpdate = (config, choices) => consentSignals(config.consent_mode.mapping, choices);

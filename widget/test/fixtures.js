// A banner config shaped like docs/widget-protocol.md.
export function makeConfig(overrides = {}) {
  return {
    site: 'news-example',
    mode: 'opt-in',
    locale: 'en',
    dir: 'ltr',
    texts: {
      title: 'We value your privacy',
      description: 'We use cookies.',
      accept_all: 'Accept all',
      reject_all: 'Reject all',
      settings: 'Settings',
      save: 'Save choices',
      agree: 'I agree',
      close: 'Close',
      changed: 'We have updated:',
      gpc_honoured: 'Your Global Privacy Control signal was honoured.',
      required: 'Always on',
      cookies: 'Cookies',
    },
    categories: [
      { id: 'necessary', title: 'Strictly necessary', required: true, sale_or_sharing: false, cookies: [] },
      { id: 'analytics', title: 'Analytics', required: false, sale_or_sharing: false, cookies: [{ name: '_ga' }] },
      { id: 'marketing', title: 'Marketing', required: false, sale_or_sharing: true, cookies: [] },
    ],
    documents: [
      { kind: 'privacy', version: 3, sha256: 'p3', material: false, last_material_version: 2, url: 'https://c/p' },
      { kind: 'terms', version: 1, sha256: 't1', material: true, last_material_version: 1, url: 'https://c/t' },
    ],
    first_layer: ['accept_all', 'reject_all', 'settings'],
    receipt_url: 'https://consent.example.com/r/news-example/{id}?token={subject_token}',
    gpc: { honour: true },
    consent_mode: {
      enabled: true,
      mapping: {
        analytics_storage: ['analytics'],
        ad_storage: ['marketing'],
        functionality_storage: ['necessary'],
        personalization_storage: [],
        mixed: ['necessary', 'analytics'],
      },
    },
    consent_lifetime_days: 180,
    revision: 'abcdef0123456789',
    ...overrides,
  };
}

export const NOW = Date.UTC(2026, 10, 28, 12) // ms
export const DAY = 86400;

/** A stored state as the cookie keeps it. */
export const storedState = (over = {}) => ({
  s: 'subject',
  t: NOW / 1000 - DAY,
  c: { necessary: 1, analytics: 1, marketing: 0 },
  d: { privacy: 2, terms: 1 },
  r: 'abcdef01',
  ...over,
});

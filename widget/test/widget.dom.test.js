// @vitest-environment happy-dom
// A smoke test of the whole widget in a simulated DOM: config fetch, banner, choice, event,
// cookie, gating. Real behaviour is tested end to end in Chromium.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { makeConfig } from './fixtures.js';

const posts = [];

beforeAll(async () => {
  const config = makeConfig({ consent_mode: { enabled: true, mapping: { analytics_storage: ['analytics'] } } });
  globalThis.fetch = vi.fn((url, init) => {
    if (String(url).includes('/banner')) return Promise.resolve({ ok: true, status: 200, json: () => Promise.resolve(config) });
    posts.push(JSON.parse(init.body));
    return Promise.resolve({ status: 201, json: () => Promise.resolve({ receipt: 'jws', subject_token: 'tok', recorded_at: 'now' }) });
  });
  document.body.innerHTML = '<a id="open" data-consentry-open href="#">settings</a>';
  const gated = document.createElement('script');
  gated.type = 'text/plain';
  gated.setAttribute('data-consent', 'analytics');
  gated.text = 'window.ran = (window.ran || 0) + 1';
  document.body.append(gated);
  const script = document.createElement('script');
  script.src = 'https://consent.example.com/widget.js';
  script.setAttribute('data-site', 'news-example');
  Object.defineProperty(document, 'currentScript', { value: script, configurable: true });
  globalThis.MORE_VERSION = 'test'; // the build defines it
  // happy-dom does not load scripts: when the widget adds widget-more.js, run its source instead
  const append = document.head.append.bind(document.head);
  document.head.append = (el) => (String(el.src).includes('/widget-more.js?v=test') ? import('../src/more.js') : append(el));
  await import('../src/index.js');
  await new Promise((r) => setTimeout(r, 20));
});

// The widget lives in the light DOM under #consentry (findable by auto-refusal tools)
const shadow = () => document.getElementById('consentry');

describe('widget in a DOM', () => {
  it('fetches the config with the locale and shows the banner with equal buttons', () => {
    expect(String(fetch.mock.calls[0][0])).toMatch(/^https:\/\/consent\.example\.com\/api\/v1\/sites\/news-example\/banner\?locale=/);
    const banner = shadow().querySelector('[role=dialog]');
    expect(banner.getAttribute('aria-labelledby')).toBe('consentry-t');
    expect([...banner.querySelectorAll('button')].map((b) => b.textContent)).toEqual(['Accept all', 'Reject all', 'Settings']);
    expect([...banner.querySelectorAll('button')].map((b) => b.dataset.consentryAction)).toEqual(['accept_all', 'reject_all', 'settings']);
    expect(document.querySelector('script[data-consent]').type).toBe('text/plain');
    expect(window.dataLayer[0][0]).toBe('consent');
    expect(window.dataLayer[0][1]).toBe('default');
  });

  it('opens the modal preferences with required locked on and others off', async () => {
    document.getElementById('open').click();
    // the dialog is an on-demand part: wait for it to load
    const dialog = await vi.waitFor(() => shadow().querySelector('dialog') || Promise.reject(Error('no dialog')), { timeout: 3000 });
    expect(dialog.open).toBe(true);
    const boxes = [...dialog.querySelectorAll('input[role=switch]')];
    expect(boxes.map((b) => [b.checked, b.disabled])).toEqual([
      [true, true],
      [false, false],
      [false, false],
    ]);
    boxes[1].click();
    expect([...dialog.querySelectorAll('button')].map((b) => b.dataset.consentryAction)).toEqual(['accept_all', 'reject_all', 'save', 'close']);
    [...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Save choices').click();
    await vi.waitFor(() => expect(posts).toHaveLength(1));
  });

  it('records the choice, sets the cookie, runs the gated script and updates Consent Mode', () => {
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({
      action: 'custom',
      method: 'preferences',
      choices: { necessary: true, analytics: true, marketing: false },
      documents: { privacy: { version: 3, sha256: 'p3' }, terms: { version: 1, sha256: 't1' } },
      revision: 'abcdef0123456789',
    });
    expect(document.cookie).toContain('consentry=1.');
    expect(window.Consentry.getConsent()).toMatchObject({ choices: { analytics: true }, receipt: 'jws' });
    // happy-dom does not evaluate scripts: check the replacement a browser would run
    const active = [...document.querySelectorAll('script')].filter((s) => s.text.includes('window.ran'));
    expect(active).toHaveLength(1);
    expect(active[0].type).toBe('');
    expect(active[0].hasAttribute('data-consent')).toBe(false);
    expect(shadow().querySelector('.b')).toBeNull();
    expect(window.dataLayer.at(-1)[1]).toBe('update');
  });

  it('activates gated elements added later, once', async () => {
    const late = document.createElement('script');
    late.type = 'text/plain';
    late.setAttribute('data-consent', 'analytics');
    late.text = 'window.late = 1';
    document.body.append(late);
    await new Promise((r) => setTimeout(r, 20));
    const active = [...document.querySelectorAll('script')].filter((s) => s.text.includes('window.late'));
    expect(active.map((s) => [s.type, s.hasAttribute('data-consent')])).toEqual([['', false]]);
  });

  it('withdraws: records withdraw and shows the banner again', async () => {
    const changes = [];
    window.Consentry.on('change', (d) => changes.push(d.action));
    await window.Consentry.withdraw();
    await new Promise((r) => setTimeout(r, 20));
    expect(posts.at(-1)).toMatchObject({ action: 'withdraw', method: 'api', choices: { analytics: false } });
    // the second event of the subject carries the token the first answer gave
    expect(posts[0].subject_token).toBeUndefined();
    expect(posts.at(-1)).toMatchObject({ subject: posts[0].subject, subject_token: 'tok' });
    expect(changes).toEqual(['withdraw']);
    expect(shadow().querySelector('.b')).not.toBeNull();
  });

  it('hands what is pending to sendBeacon when the page is hidden', async () => {
    const beacons = [];
    navigator.sendBeacon = (url, body) => beacons.push([String(url), JSON.parse(body)]) > 0;
    const fetchBefore = globalThis.fetch;
    globalThis.fetch = vi.fn((url, init) =>
      String(url).includes('/consents') ? Promise.reject(new TypeError('offline')) : fetchBefore(url, init),
    );
    try {
      await window.Consentry.rejectAll();
      await new Promise((r) => setTimeout(r, 20));
      Object.defineProperty(document, 'hidden', { value: true, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
      expect(beacons).toHaveLength(1);
      expect(beacons[0][0]).toBe('https://consent.example.com/api/v1/sites/news-example/consents');
      expect(beacons[0][1]).toMatchObject({ action: 'reject_all', method: 'api', subject_token: 'tok' });
    } finally {
      globalThis.fetch = fetchBefore;
      delete document.hidden;
    }
  });
});

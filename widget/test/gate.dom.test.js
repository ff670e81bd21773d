// @vitest-environment happy-dom
// Gating of iframes: loaded when granted, unloaded (a fresh element without src) when refused.
import { describe, expect, it } from 'vitest';
import { activate } from '../src/gate.js';

describe('gated iframes', () => {
  it('loads on grant and unloads on withdrawal, ready to load again', () => {
    document.body.innerHTML = '<iframe data-consent="marketing" data-src="https://ads.example/x"></iframe>';
    activate({ marketing: false });
    expect(document.querySelector('iframe').hasAttribute('src')).toBe(false);

    activate({ marketing: true });
    const loaded = document.querySelector('iframe');
    expect(loaded.getAttribute('src')).toBe('https://ads.example/x');

    activate({ marketing: false });
    const unloaded = document.querySelector('iframe');
    expect(unloaded).not.toBe(loaded); // the old browsing context is gone with its element
    expect(unloaded.hasAttribute('src')).toBe(false);
    expect(unloaded.getAttribute('data-src')).toBe('https://ads.example/x');

    activate({ marketing: true });
    expect(document.querySelector('iframe').getAttribute('src')).toBe('https://ads.example/x');
  });
});

import { describe, expect, it } from 'vitest';
import { consentDefault, consentUpdate } from '../src/core/consentmode.js';
import { makeConfig } from './fixtures.js';

describe('Google Consent Mode', () => {
  const config = makeConfig();

  it('defaults to denied except signals mapped only to required categories', () => {
    expect(consentDefault(config)).toEqual({
      analytics_storage: 'denied',
      ad_storage: 'denied',
      functionality_storage: 'granted',
      personalization_storage: 'denied',
      mixed: 'denied',
      wait_for_update: 500,
    });
  });

  it('grants a signal only when every listed category is granted; empty lists stay denied', () => {
    expect(consentUpdate(config, { necessary: true, analytics: true, marketing: false })).toEqual({
      analytics_storage: 'granted',
      ad_storage: 'denied',
      functionality_storage: 'granted',
      personalization_storage: 'denied',
      mixed: 'granted',
    });
  });

  it('denies signals that name unknown categories', () => {
    const cfg = makeConfig({ consent_mode: { enabled: true, mapping: { ad_storage: ['nope'] } } });
    expect(consentUpdate(cfg, { necessary: true })).toEqual({ ad_storage: 'denied' });
  });
});

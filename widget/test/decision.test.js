import { describe, expect, it } from 'vitest';
import { actionOf, askReason, bits, choose, documentsOf, effectiveChoices, gpcDecision } from '../src/core/decision.js';
import { DAY, makeConfig, NOW, storedState } from './fixtures.js';

describe('askReason', () => {
  const config = makeConfig();

  it('asks on a first visit', () => {
    expect(askReason(config, null, NOW)).toEqual({ reason: 'first', changed: [] });
  });

  it('keeps a consent that agreed to the last material versions', () => {
    expect(askReason(config, storedState(), NOW)).toBeNull();
  });

  it('does not interrupt for a newer non-material version', () => {
    // privacy v3 is non-material; the visitor agreed to v2 (the last material one)
    expect(askReason(config, storedState({ d: { privacy: 2, terms: 1 } }), NOW)).toBeNull();
  });

  it('asks again for a material version newer than the one agreed to and names it', () => {
    const why = askReason(config, storedState({ d: { privacy: 1, terms: 1 } }), NOW);
    expect(why.reason).toBe('changed');
    expect(why.changed.map((d) => d.kind)).toEqual(['privacy']);
  });

  it('asks again for a document kind the visitor never agreed to', () => {
    const why = askReason(config, storedState({ d: { privacy: 3 } }), NOW);
    expect(why.reason).toBe('changed');
    expect(why.changed.map((d) => d.kind)).toEqual(['terms']);
  });

  it('falls back to `material` when last_material_version is missing', () => {
    const cfg = makeConfig({ documents: [{ kind: 'privacy', version: 4, sha256: 'x', material: true }] });
    expect(askReason(cfg, storedState({ d: { privacy: 3 } }), NOW).reason).toBe('changed');
    expect(askReason(cfg, storedState({ d: { privacy: 4 } }), NOW)).toBeNull();
  });

  it('asks again when the consent is older than the lifetime', () => {
    const old = storedState({ t: NOW / 1000 - 181 * DAY });
    expect(askReason(config, old, NOW).reason).toBe('expired');
    expect(askReason(config, storedState({ t: NOW / 1000 - 179 * DAY }), NOW)).toBeNull();
  });

  it('honours a shorter lifetime from the config', () => {
    const cfg = makeConfig({ consent_lifetime_days: 30 });
    expect(askReason(cfg, storedState({ t: NOW / 1000 - 31 * DAY }), NOW).reason).toBe('expired');
  });

  it('asks about a category added after the consent', () => {
    const why = askReason(config, storedState({ c: { necessary: 1, analytics: 1 } }), NOW);
    expect(why.reason).toBe('categories');
  });

  it('asks after an automatic GPC refusal while other categories remain undecided', () => {
    const gpcOnly = storedState({ c: { necessary: 1, analytics: 0, marketing: 0 }, d: { privacy: 3, terms: 1 }, g: 1 });
    expect(askReason(config, gpcOnly, NOW).reason).toBe('gpc');
    const allSale = makeConfig({ categories: config.categories.filter((c) => c.id !== 'analytics') });
    expect(askReason(allSale, gpcOnly, NOW)).toBeNull();
  });
});

describe('choices', () => {
  const config = makeConfig();

  it('forces required categories on and sale/sharing off under GPC', () => {
    expect(choose(config, true, () => true)).toEqual({ necessary: true, analytics: true, marketing: false });
    expect(choose(config, false, () => false)).toEqual({ necessary: true, analytics: false, marketing: false });
  });

  it('uses stored choices, none in opt-in and all in notice mode before consent', () => {
    expect(effectiveChoices(config, null, false)).toEqual({ necessary: true, analytics: false, marketing: false });
    expect(effectiveChoices(makeConfig({ mode: 'notice' }), null, false)).toEqual({
      necessary: true,
      analytics: true,
      marketing: true,
    });
    expect(effectiveChoices(config, storedState(), false)).toEqual({ necessary: true, analytics: true, marketing: false });
  });

  it('names the action by outcome', () => {
    expect(actionOf(config, { necessary: true, analytics: true, marketing: true })).toBe('accept_all');
    expect(actionOf(config, { necessary: true, analytics: false, marketing: false })).toBe('reject_all');
    expect(actionOf(config, { necessary: true, analytics: true, marketing: false })).toBe('custom');
  });

  it('encodes choices as bits and documents with their hashes', () => {
    expect(bits({ a: true, b: false })).toEqual({ a: 1, b: 0 });
    expect(documentsOf(config)).toEqual({ privacy: { version: 3, sha256: 'p3' }, terms: { version: 1, sha256: 't1' } });
  });

  it('names the banner text version too, as the service requires every document in force', () => {
    const cfg = makeConfig({ banner_document: { version: 2, sha256: 'b2' } });
    expect(documentsOf(cfg)).toEqual({
      privacy: { version: 3, sha256: 'p3' },
      terms: { version: 1, sha256: 't1' },
      banner: { version: 2, sha256: 'b2' },
    });
  });
});

describe('gpcDecision', () => {
  const config = makeConfig();

  it('refuses sale/sharing on a first visit and still asks about the rest', () => {
    expect(gpcDecision(config, null)).toEqual({
      action: 'custom',
      choices: { necessary: true, analytics: false, marketing: false },
      ask: true,
    });
  });

  it('records reject_all without asking when every choosable category is sale/sharing', () => {
    const cfg = makeConfig({ categories: config.categories.filter((c) => c.id !== 'analytics') });
    expect(gpcDecision(cfg, null)).toEqual({ action: 'reject_all', choices: { necessary: true, marketing: false }, ask: false });
  });

  it('withdraws a stored sale/sharing grant and keeps the other choices', () => {
    const previous = { necessary: true, analytics: true, marketing: true };
    expect(gpcDecision(config, previous)).toEqual({
      action: 'custom',
      choices: { necessary: true, analytics: true, marketing: false },
      ask: false,
    });
  });

  it('changes nothing when no sale/sharing category is granted or declared', () => {
    expect(gpcDecision(config, { necessary: true, analytics: true, marketing: false })).toBeNull();
    const noSale = makeConfig({ categories: config.categories.filter((c) => c.id !== 'marketing') });
    expect(gpcDecision(noSale, null)).toBeNull();
  });
});

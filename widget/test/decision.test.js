import { describe, expect, it } from 'vitest';
import { actionOf, askReason, bits, choiceOf, choose, documentsOf, effectiveChoices, gpcDecision, savedAction } from '../src/core/decision.js';
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

  it('refuses sale/sharing on a first visit, flagged, and still asks about the rest', () => {
    expect(gpcDecision(config, null)).toEqual({
      action: 'custom',
      choices: { necessary: true, analytics: false, marketing: false },
      ask: true,
      over: { g: 1 },
    });
  });

  it('records reject_all without asking when every choosable category is sale/sharing', () => {
    const cfg = makeConfig({ categories: config.categories.filter((c) => c.id !== 'analytics') });
    expect(gpcDecision(cfg, null)).toEqual({ action: 'reject_all', choices: { necessary: true, marketing: false }, ask: false, over: { g: 1 } });
  });

  it('withdraws a stored sale/sharing grant, keeping the other choices and the versions agreed to', () => {
    const stored = storedState({ c: { necessary: 1, analytics: 1, marketing: 1 } });
    const hashes = { privacy: { version: 2, sha256: 'p2' }, terms: { version: 1, sha256: 't1' } };
    expect(gpcDecision(config, stored, { t: stored.t, documents: hashes })).toEqual({
      action: 'custom',
      choices: { necessary: true, analytics: true, marketing: false },
      ask: false,
      over: { d: { privacy: 2, terms: 1 }, documents: hashes },
    });
    // the local state of another choice: its hashes are not these versions'
    expect(gpcDecision(config, stored, { t: 1, documents: hashes }).over).toEqual({ d: stored.d, documents: false });
  });

  it('changes nothing when no sale/sharing category is granted or declared', () => {
    expect(gpcDecision(config, storedState())).toBeNull();
    const noSale = makeConfig({ categories: config.categories.filter((c) => c.id !== 'marketing') });
    expect(gpcDecision(noSale, null)).toBeNull();
  });
});

// Opt-out mode (US state laws): the site runs by default; sale/sharing and sensitive categories
// are switched off on request or by GPC.
describe('opt-out mode', () => {
  const config = makeConfig({
    mode: 'opt-out',
    categories: [
      ...makeConfig().categories,
      { id: 'location', title: 'Precise location', required: false, sale_or_sharing: false, sensitive: true, cookies: [] },
    ],
  });
  const all = { necessary: true, analytics: true, marketing: true, location: true };

  it('grants every category before a choice, but sale/sharing under GPC', () => {
    expect(effectiveChoices(config, null, false)).toEqual(all);
    expect(effectiveChoices(config, null, true)).toEqual({ ...all, marketing: false });
  });

  it('opts out of sale and sharing only, keeping the other choices', () => {
    expect(choiceOf(config, all, false, 'opt_out')).toEqual(['opt_out', { ...all, marketing: false }]);
    const without = { ...all, analytics: false };
    expect(choiceOf(config, without, false, 'opt_out')).toEqual(['opt_out', { ...without, marketing: false }]);
  });

  it('opts back in, unless GPC keeps sale and sharing off', () => {
    const out = { ...all, marketing: false, analytics: false };
    expect(choiceOf(config, out, false, 'opt_in')).toEqual(['opt_in', { ...out, marketing: true }]);
    expect(choiceOf(config, out, true, 'opt_in')).toEqual(['opt_out', out]);
  });

  it('limits sensitive categories: custom while sale/sharing runs, opt_out once it does not', () => {
    expect(choiceOf(config, all, false, 'limit_sensitive')).toEqual(['custom', { ...all, location: false }]);
    const out = { ...all, marketing: false };
    expect(choiceOf(config, out, false, 'limit_sensitive')).toEqual(['opt_out', { ...out, location: false }]);
  });

  it('acknowledges the notice with the choices in force', () => {
    const out = { ...all, marketing: false };
    expect(choiceOf(config, out, false, 'acknowledge')).toEqual(['acknowledge', out]);
  });

  it('records GPC as an opt-out without a prompt, the other categories on', () => {
    expect(gpcDecision(config, null)).toEqual({ action: 'opt_out', choices: { ...all, marketing: false }, ask: false, over: { g: 1 } });
    const stored = storedState({ c: { necessary: 1, analytics: 0, marketing: 1, location: 1 } });
    expect(gpcDecision(config, stored)).toEqual({
      action: 'opt_out',
      choices: { ...all, analytics: false, marketing: false },
      ask: false,
      over: { d: stored.d, documents: false },
    });
    expect(gpcDecision(config, storedState({ c: { necessary: 1, analytics: 1, marketing: 0, location: 1 } }))).toBeNull();
  });

  it('shows the notice after the automatic GPC opt-out, until the visitor closes it', () => {
    const gpcOnly = storedState({ c: { necessary: 1, analytics: 1, marketing: 0, location: 1 }, d: { privacy: 3, terms: 1 }, g: 1 });
    expect(askReason(config, gpcOnly, NOW).reason).toBe('gpc');
    const onlySale = makeConfig({ mode: 'opt-out', categories: config.categories.filter((c) => c.id === 'necessary' || c.id === 'marketing') });
    expect(askReason(onlySale, { ...gpcOnly, c: { necessary: 1, marketing: 0 } }, NOW).reason).toBe('gpc');
    expect(askReason(config, { ...gpcOnly, g: undefined }, NOW)).toBeNull();
  });

  it("names the preferences' Save opt_out or opt_in when it switches sale and sharing", () => {
    const out = { ...all, marketing: false };
    expect(savedAction(config, all, out)).toBe('opt_out');
    expect(savedAction(config, out, all)).toBe('opt_in');
    expect(savedAction(config, all, { ...all, analytics: false })).toBe('custom');
    expect(savedAction(config, out, { ...out, analytics: false })).toBe('custom');
    // opt-in mode: by outcome only
    expect(savedAction(makeConfig(), all, { necessary: true, analytics: false, marketing: false })).toBe('reject_all');
  });
});

describe('choiceOf in opt-in mode', () => {
  const config = makeConfig();

  it('accepts, refuses and withdraws every choosable category', () => {
    expect(choiceOf(config, {}, false, 'accept_all')).toEqual(['accept_all', { necessary: true, analytics: true, marketing: true }]);
    expect(choiceOf(config, {}, true, 'accept_all')).toEqual(['custom', { necessary: true, analytics: true, marketing: false }]);
    const none = { necessary: true, analytics: false, marketing: false };
    expect(choiceOf(config, { analytics: true }, false, 'reject_all')).toEqual(['reject_all', none]);
    expect(choiceOf(config, { analytics: true }, false, 'withdraw')).toEqual(['withdraw', none]);
  });

  it('keeps the earlier choices, recorded by outcome', () => {
    const kept = { necessary: true, analytics: true, marketing: false };
    expect(choiceOf(config, kept, false, 'keep_choices')).toEqual(['custom', kept]);
  });
});

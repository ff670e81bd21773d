// Consent decisions from the banner config and the stored state: no DOM, no storage, no clock.

const DAY = 86400;

/** Categories the visitor can choose (not required). */
const optional = (config) => config.categories.filter((c) => !c.required);

/** The version at or above which a stored agreement to this document still holds. */
const lastMaterial = (doc) => doc.last_material_version ?? (doc.material ? doc.version : 0);

/**
 * `{kind: {version, sha256}}` of the current documents, the banner text included: what an event
 * records (the service refuses an event that does not name every document in force).
 */
export function documentsOf(config) {
  const out = {};
  for (const d of config.documents) out[d.kind] = { version: d.version, sha256: d.sha256 };
  if (config.banner_document) out.banner = config.banner_document;
  return out;
}

/**
 * Why the banner must ask, or null when the stored consent still holds.
 * Returns `{reason, changed}`; reason is `first`, `expired`, `changed` (a document is new or
 * has a material version newer than the one agreed to; `changed` lists those documents),
 * `categories` (a choosable category was added) or `gpc` (only the automatic GPC refusal is
 * stored and there are categories GPC does not decide).
 */
export function askReason(config, state, nowMs) {
  if (!state) return { reason: 'first', changed: [] };
  if (nowMs / 1000 - state.t > (config.consent_lifetime_days || 180) * DAY) return { reason: 'expired', changed: [] };
  const changed = config.documents.filter((d) => !(d.kind in state.d) || state.d[d.kind] < lastMaterial(d));
  if (changed.length) return { reason: 'changed', changed };
  if (optional(config).some((c) => !(c.id in state.c))) return { reason: 'categories', changed };
  if (state.g && optional(config).some((c) => !c.sale_or_sharing)) return { reason: 'gpc', changed };
  return null;
}

/**
 * Full `{category: bool}` choices: required categories always true, sale/sharing categories
 * false while GPC is honoured, the others as `pick(category)` says.
 */
export function choose(config, gpc, pick) {
  const out = {};
  for (const c of config.categories) out[c.id] = !!(c.required || (!(gpc && c.sale_or_sharing) && pick(c)));
  return out;
}

/** Choices in force: the stored ones, else none in opt-in mode and all in notice mode. */
export const effectiveChoices = (config, state, gpc) =>
  choose(config, gpc, (c) => (state ? state.c[c.id] === 1 : config.mode === 'notice'));

/** `accept_all` when every choosable category is on, `reject_all` when none is, else `custom`. */
export function actionOf(config, choices) {
  const on = optional(config).filter((c) => choices[c.id]).length;
  return on === optional(config).length ? 'accept_all' : on ? 'custom' : 'reject_all';
}

/**
 * The GPC rule (opt-in mode, signal on, `gpc.honour`): what to record with method `gpc`, or
 * null when GPC changes nothing. It applies when there is a choosable sale/sharing category and
 * either no valid consent is stored (`previous` null) or the stored one grants a sale/sharing
 * category. Sale/sharing categories become false; the others keep their stored value (false on
 * a first visit: not consented yet). Returns `{action, choices, ask}`: action `reject_all` when
 * every choosable category ends false on a visitor's earlier choice or when every choosable
 * category is sale/sharing, else `custom`; `ask` is true on a first visit when categories
 * that GPC does not decide remain, so the banner still asks about them.
 */
export function gpcDecision(config, previous) {
  const sale = optional(config).filter((c) => c.sale_or_sharing);
  if (!sale.length || (previous && !sale.some((c) => previous[c.id]))) return null;
  const choices = choose(config, true, (c) => !!previous && previous[c.id]);
  const ask = !previous && sale.length < optional(config).length;
  return { action: ask ? 'custom' : actionOf(config, choices), choices, ask };
}

/** `{category: 1|0}` for the cookie. */
export function bits(choices) {
  const out = {};
  for (const k in choices) out[k] = choices[k] ? 1 : 0;
  return out;
}

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
  // opt-out mode: the notice says that GPC opted the visitor out, until they close it
  if (state.g && (config.mode === 'opt-out' || optional(config).some((c) => !c.sale_or_sharing))) return { reason: 'gpc', changed };
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

/**
 * Choices in force: the stored ones, else none in opt-in mode and all in notice and opt-out
 * modes (where the site runs by default).
 */
export const effectiveChoices = (config, state, gpc) =>
  choose(config, gpc, (c) => (state ? state.c[c.id] === 1 : config.mode !== 'opt-in'));

/** `accept_all` when every choosable category is on, `reject_all` when none is, else `custom`. */
export function actionOf(config, choices) {
  const on = optional(config).filter((c) => choices[c.id]).length;
  return on === optional(config).length ? 'accept_all' : on ? 'custom' : 'reject_all';
}

/**
 * The GPC rule (signal on, `gpc.honour`, opt-in or opt-out mode): what to record with method
 * `gpc`, or null when GPC changes nothing. `stored`: the valid consent cookie's state, or null;
 * `kept`: the local state beside it. It applies when there is a choosable sale/sharing
 * category and either no valid consent is stored or the stored one grants a sale/sharing
 * category. Sale/sharing categories become false; the others keep their stored value, or on a
 * first visit their default: off in opt-in mode (not consented yet), on in opt-out mode, where
 * the action is `opt_out`. In opt-in mode the action is `reject_all` when every choosable
 * category ends false on a visitor's earlier choice or when every choosable category is
 * sale/sharing, else `custom`. `ask` is true on an opt-in first visit when categories that GPC
 * does not decide remain, so the banner still asks about them. `over`: what the record keeps
 * (an automatic refusal does not agree to newer documents): over a stored agreement its
 * document versions (`d`, and `documents` with their hashes when the local state is of the
 * same choice); on a first visit the cookie's flag `g`.
 */
export function gpcDecision(config, stored, kept = {}) {
  const previous = stored && effectiveChoices(config, stored, false);
  const sale = optional(config).filter((c) => c.sale_or_sharing);
  if (!sale.length || (previous && !sale.some((c) => previous[c.id]))) return null;
  const over = stored ? { d: stored.d, documents: kept.t === stored.t && kept.documents } : { g: 1 };
  if (config.mode === 'opt-out') return { action: 'opt_out', choices: choose(config, true, (c) => !previous || previous[c.id]), ask: false, over };
  const choices = choose(config, true, (c) => !!previous && previous[c.id]);
  const ask = !previous && sale.length < optional(config).length;
  return { action: ask ? 'custom' : actionOf(config, choices), choices, ask, over };
}

/** The site has sale/sharing categories and `choices` turns every one of them off. */
export function optedOut(config, choices) {
  const sale = optional(config).filter((c) => c.sale_or_sharing);
  return sale.length > 0 && !sale.some((c) => choices[c.id]);
}

/**
 * A choice of the first layer or the API as `[action recorded, choices]`, from the choices in
 * force (`granted`), GPC honoured or not (`choose`):
 * - `accept_all` (`custom` by outcome when GPC keeps sale/sharing off), `reject_all` and
 *   `withdraw`: every choosable category on, or off;
 * - `opt_out`: every sale/sharing category off, the others as they are;
 * - `opt_in`: the sale/sharing categories back on (`opt_out` when GPC keeps them off);
 * - `limit_sensitive`: every sensitive category off, the others as they are; recorded as
 *   `opt_out` when that leaves every sale/sharing category off, else `custom`;
 * - `keep_choices` (by outcome) and `acknowledge`: the choices in force.
 */
export function choiceOf(config, granted, gpc, action) {
  const flag = action === 'limit_sensitive' ? 'sensitive' : action.slice(0, 4) === 'opt_' && 'sale_or_sharing';
  const choices = choose(config, gpc, (c) =>
    flag && c[flag] ? action === 'opt_in' : action === 'accept_all' || (action !== 'reject_all' && action !== 'withdraw' && granted[c.id]),
  );
  if (flag && action !== 'opt_out') action = optedOut(config, choices) ? 'opt_out' : action === 'opt_in' ? action : 'custom';
  return [action === 'accept_all' || action === 'keep_choices' ? actionOf(config, choices) : action, choices];
}

/**
 * The action of the preferences' Save: in opt-out mode `opt_out` or `opt_in` when it turns the
 * sale/sharing categories off or back on (`before`: the choices the dialog opened with), else
 * by outcome (`actionOf`).
 */
export function savedAction(config, before, after) {
  const out = optedOut(config, after);
  return config.mode === 'opt-out' && out !== optedOut(config, before) ? (out ? 'opt_out' : 'opt_in') : actionOf(config, after);
}

/** `{category: 1|0}` for the cookie. */
export function bits(choices) {
  const out = {};
  for (const k in choices) out[k] = choices[k] ? 1 : 0;
  return out;
}

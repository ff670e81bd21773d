// The `consentry` first-party cookie: the consent state the site's own server can read.
//
// Value: `1.` + base64url(JSON) without padding, JSON keys:
//   s  subject id (base64url, 128 bits)        t  time of the choice, Unix seconds
//   c  {category id: 1 | 0}, every category    d  {document kind: version agreed to}
//   r  first 8 hex characters of the banner revision shown
//   g  1 only while the sole record is the automatic GPC refusal (the visitor was not asked yet)

import { b64uDecode, b64uEncode } from './ids.js';

export const COOKIE_NAME = 'consentry';
const PREFIX = '1.';

/** Encode a state object as the cookie value. */
export const encodeState = (state) => PREFIX + b64uEncode(JSON.stringify(state));

/** Decode a cookie value; anything malformed decodes as `null` (treated as no consent). */
export function decodeState(value) {
  try {
    if (!value || value.slice(0, 2) !== PREFIX) return null;
    const s = JSON.parse(b64uDecode(value.slice(2)));
    return typeof s.s === 'string' && s.t > 0 && typeof s.c === 'object' && typeof s.d === 'object' && s.c && s.d ? s : null;
  } catch {
    return null;
  }
}

/** `{name: value}` of a `document.cookie` string. */
export function parseCookies(cookies) {
  const out = {};
  for (const part of (cookies || '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/**
 * A `document.cookie` assignment storing the state for `days` days. With the site's
 * `cookie_domain` (e.g. `example.com`) and a page on it or one of its subdomains, the cookie is
 * set for that domain: every subdomain shares the consent and the subject.
 */
export function stateCookie(state, days, secure, domain, hostname) {
  const shared = domain && (hostname === domain || hostname.endsWith(`.${domain}`));
  return `${COOKIE_NAME}=${encodeState(state)};Path=/;Max-Age=${Math.round(days * 86400)};SameSite=Lax${secure ? ';Secure' : ''}${shared ? `;Domain=${domain}` : ''}`;
}

/**
 * `document.cookie` assignments that expire the declared cookies present on the page.
 * A declared name ending in `*` is a prefix (`_ga_*`). Each cookie is expired for the host and
 * each parent domain, path `/`, because we cannot know which Domain it was set with.
 */
export function expiryAssignments(declared, present, hostname) {
  const labels = hostname.split('.');
  const domains = [''];
  for (let i = 0; i < labels.length - 1; i++) domains.push(`;Domain=${labels.slice(i).join('.')}`);
  const out = [];
  for (const name of present) {
    const hit = declared.some((d) => (d.slice(-1) === '*' ? name.startsWith(d.slice(0, -1)) : name === d));
    if (hit && name !== COOKIE_NAME) for (const dom of domains) out.push(`${name}=;Path=/;Max-Age=0${dom}`);
  }
  return out;
}

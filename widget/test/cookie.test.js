import { describe, expect, it } from 'vitest';
import { COOKIE_NAME, decodeState, encodeState, expiryAssignments, parseCookies, stateCookie } from '../src/core/cookie.js';
import { b64uEncode } from '../src/core/ids.js';
import { storedState } from './fixtures.js';

describe('consent cookie', () => {
  it('round-trips a state through a cookie-safe value', () => {
    const state = storedState({ g: 1 });
    const value = encodeState(state);
    expect(value).toMatch(/^1\.[A-Za-z0-9_-]+$/);
    expect(decodeState(value)).toEqual(state);
  });

  it('keeps non-ASCII category ids intact', () => {
    const state = storedState({ c: { 'statistik-ä': 1 } });
    expect(decodeState(encodeState(state))).toEqual(state);
  });

  it('is the documented base64url JSON', () => {
    const value = encodeState({ s: 'x', t: 1, c: {}, d: {} });
    expect(value).toBe(`1.${Buffer.from('{"s":"x","t":1,"c":{},"d":{}}').toString('base64url')}`);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['other version', `2.${b64uEncode('{"s":"x","t":1,"c":{},"d":{}}')}`],
    ['not base64', '1.%%%'],
    ['not JSON', `1.${b64uEncode('{nope')}`],
    ['JSON null', `1.${b64uEncode('null')}`],
    ['no subject', `1.${b64uEncode('{"t":1,"c":{},"d":{}}')}`],
    ['bad time', `1.${b64uEncode('{"s":"x","t":"soon","c":{},"d":{}}')}`],
    ['choices null', `1.${b64uEncode('{"s":"x","t":1,"c":null,"d":{}}')}`],
  ])('decodes a corrupt cookie (%s) as no consent', (_, value) => {
    expect(decodeState(value)).toBeNull();
  });

  it('is written SameSite=Lax with max-age of the lifetime, Secure on https', () => {
    const c = stateCookie(storedState(), 180, true);
    expect(c.startsWith(`${COOKIE_NAME}=1.`)).toBe(true);
    expect(c).toContain(';Path=/;Max-Age=15552000;SameSite=Lax;Secure');
    expect(stateCookie(storedState(), 1, false)).not.toContain('Secure');
  });

  it('parses document.cookie', () => {
    expect(parseCookies(' a=1; consentry=1.abc=; _ga_X=GA1.2')).toEqual({ a: '1', consentry: '1.abc=', _ga_X: 'GA1.2' });
    expect(parseCookies('')).toEqual({});
  });

  it('expires declared cookies on the host and every parent domain, prefixes included', () => {
    const out = expiryAssignments(['_ga', '_ga_*'], ['_ga', '_ga_ABC', 'session', COOKIE_NAME], 'www.news.example.com');
    expect(out).toEqual([
      '_ga=;Path=/;Max-Age=0',
      '_ga=;Path=/;Max-Age=0;Domain=www.news.example.com',
      '_ga=;Path=/;Max-Age=0;Domain=news.example.com',
      '_ga=;Path=/;Max-Age=0;Domain=example.com',
      '_ga_ABC=;Path=/;Max-Age=0',
      '_ga_ABC=;Path=/;Max-Age=0;Domain=www.news.example.com',
      '_ga_ABC=;Path=/;Max-Age=0;Domain=news.example.com',
      '_ga_ABC=;Path=/;Max-Age=0;Domain=example.com',
    ]);
  });

  it('never expires its own cookie and handles localhost', () => {
    expect(expiryAssignments(['*'], [COOKIE_NAME, 'x'], 'localhost')).toEqual(['x=;Path=/;Max-Age=0']);
  });
});

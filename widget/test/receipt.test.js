import { describe, expect, it } from 'vitest';
import { b64uEncode } from '../src/core/ids.js';
import { receiptUrl } from '../src/core/receipt.js';

const TEMPLATE = 'https://consent.example.com/r/news-example/{id}?token={subject_token}';
// A compact JWS whose payload is the ledger entry's body
const jws = (body) => `${b64uEncode('{"alg":"EdDSA"}')}.${b64uEncode(JSON.stringify(body))}.c2ln`;

describe('receiptUrl', () => {
  it('fills the template with the record id of the receipt and the subject token', () => {
    const kept = { receipt: jws({ id: '0b1f-é', seq: 3 }), subject_token: 'a.b+c' };
    expect(receiptUrl(TEMPLATE, kept)).toBe('https://consent.example.com/r/news-example/0b1f-%C3%A9?token=a.b%2Bc');
  });

  it('is null until the choice is delivered, and for a malformed receipt', () => {
    expect(receiptUrl(TEMPLATE, {})).toBeNull();
    expect(receiptUrl(TEMPLATE, undefined)).toBeNull();
    expect(receiptUrl(TEMPLATE, { receipt: jws({ id: 'x' }) })).toBeNull();
    expect(receiptUrl(TEMPLATE, { receipt: 'not-a-jws', subject_token: 't' })).toBeNull();
    expect(receiptUrl(TEMPLATE, { receipt: jws({ seq: 1 }), subject_token: 't' })).toBeNull();
    expect(receiptUrl(TEMPLATE, { receipt: `a.${b64uEncode('{nope')}.c`, subject_token: 't' })).toBeNull();
    expect(receiptUrl(undefined, { receipt: jws({ id: 'x' }), subject_token: 't' })).toBeNull();
  });
});

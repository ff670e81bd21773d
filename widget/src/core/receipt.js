// The link to the visitor's receipt page (/r/{site}/{id}?token=..., docs/compliance.md): the
// config's `receipt_url` template filled with the record id, read from the payload of the
// signed receipt (the ledger entry's body), and the subject token the service answered with.
import { b64uDecode } from './ids.js';

/**
 * The receipt page of the stored choice (`kept`: the local state, with `receipt` and
 * `subject_token` once delivered), or null while either is missing or malformed.
 */
export function receiptUrl(template, kept) {
  try {
    const { id } = JSON.parse(b64uDecode(kept.receipt.split('.')[1]));
    const token = kept.subject_token;
    if (!template || typeof id !== 'string' || typeof token !== 'string') return null;
    return template.replace('{id}', encodeURIComponent(id)).replace('{subject_token}', encodeURIComponent(token));
  } catch {
    return null;
  }
}

// Identifiers made in the browser: the pseudonymous subject and the idempotent event id.

const binaryToB64u = (binary) => btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** Base64url (no padding) of a UTF-8 string. */
export const b64uEncode = (text) => binaryToB64u(unescape(encodeURIComponent(text)));

/** Inverse of b64uEncode; throws on malformed input. */
export const b64uDecode = (text) => decodeURIComponent(escape(atob(text.replace(/-/g, '+').replace(/_/g, '/'))));

/** A random 128-bit subject id, base64url (22 characters). */
export const newSubject = (crypto = globalThis.crypto) =>
  binaryToB64u(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));

/** A random UUID v4 for `client_event_id` (crypto.randomUUID exists only in secure contexts). */
export const newEventId = (crypto = globalThis.crypto) =>
  '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16),
  );

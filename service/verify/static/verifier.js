// The browser's copy of `consentry verify-bundle` (service/audit/offline.py and
// service/ledger/verify.py): the same checks, in the same order, with the same codes and messages.
// No DOM here, so the same module runs under Node for tests/verify/test_parity.py, which compares
// its reports with the Python verifier's on good and tampered files. Hashes and Ed25519 signatures
// use WebCrypto only; nothing leaves the page.

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

const SHOWN_FIELDS = ["action", "choices", "documents", "method", "gpc"];
const CHECKPOINT_FIELDS = ["site", "tree_size", "root_hash", "timestamp", "kid", "signature"];
const CHECKPOINT_TYPE = "consentry-checkpoint/v1";
const ERASURE_TYPE = "consentry-erasure/v1";
const ERASURE_FIELDS = ["site", "erased_at", "reason", "subject_hmac", "seqs", "records"];
const ERASURE_SIGNED_FIELDS = ["visible_sha256", "kid", "signature"];
const VISIBLE_COLUMNS = [
  "recorded_at", "action", "method", "gpc", "choices", "documents", "region", "mode",
  "client_event_id",
];
const RECEIPT_TYP = "consentry-receipt+jws";
const FORMAT_VERSION = 1;
const GENESIS_HASH = "0".repeat(64);
const MAX_SAFE_INT = Number.MAX_SAFE_INTEGER;
const MAX_PROBLEMS = 100;
const HEX64 = /^[0-9a-f]{64}$/;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;
export const SELF_SIGNED_NOTE =
  "keys taken from the file itself: this proves the file is consistent, not who signed it; " +
  "compare with the site's published JWKS";

// Python spellings ----------------------------------------------------------------------------
// The messages interpolate values as Python's str() and repr() print them.

const isDict = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const isInt = (value) => typeof value === "number" && Number.isInteger(value);

function pyRepr(value) {
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") {
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    let out = "";
    for (const ch of value) {
      const code = ch.codePointAt(0);
      if (ch === "\\") out += "\\\\";
      else if (ch === quote) out += "\\" + quote;
      else if (ch === "\n") out += "\\n";
      else if (ch === "\r") out += "\\r";
      else if (ch === "\t") out += "\\t";
      else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
      else out += ch;
    }
    return quote + out + quote;
  }
  if (Array.isArray(value)) return "[" + value.map(pyRepr).join(", ") + "]";
  return "{" + Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ") + "}";
}

function pyTruthy(value) {
  if (Array.isArray(value)) return value.length > 0;
  if (isDict(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

const pyStr = (value) => (typeof value === "string" ? value : pyRepr(value));

// Python's ==: 1 == True, and containers compare by content.
function pyEqual(a, b) {
  const scalar = (v) => typeof v === "number" || typeof v === "boolean";
  if (scalar(a) && scalar(b)) return Number(a) === Number(b);
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((item, i) => pyEqual(item, b[i]));
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && pyEqual(a[key], b[key]));
}

const get = (object, key, fallback = null) =>
  isDict(object) && Object.hasOwn(object, key) ? object[key] : fallback;

// Bytes ---------------------------------------------------------------------------------------

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// bytes.fromhex: pairs of hex digits, whitespace allowed between pairs.
function fromHex(text) {
  if (typeof text !== "string" || !/^\s*([0-9a-fA-F]{2}\s*)*$/.test(text)) return null;
  const digits = text.replace(/\s+/g, "");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function b64urlEncode(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// Strict base64url without padding, one encoding per value (service.crypto.keys.b64url_decode).
function b64urlDecode(text) {
  if (typeof text !== "string") throw new Error("base64url must be a string");
  if (text.includes("=")) throw new Error("base64url must be unpadded");
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new Error("invalid base64url characters or length");
  }
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  if (b64urlEncode(bytes) !== text) throw new Error("non-canonical base64url");
  return bytes;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

// Canonical JSON (service/ledger/canonical.py) ------------------------------------------------

function byCodePoint(a, b) {
  const x = Array.from(a, (ch) => ch.codePointAt(0));
  const y = Array.from(b, (ch) => ch.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

// json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False); `strict` refuses what
// canonical_json refuses (floats, integers beyond 2**53 - 1).
function dumps(value, strict) {
  if (value === null) return "null";
  if (typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (strict && (!Number.isInteger(value) || Math.abs(value) > MAX_SAFE_INT)) return null;
    return JSON.stringify(value);
  }
  const parts = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = dumps(item, strict);
      if (text === null) return null;
      parts.push(text);
    }
    return "[" + parts.join(",") + "]";
  }
  for (const key of Object.keys(value).sort(byCodePoint)) {
    const text = dumps(value[key], strict);
    if (text === null) return null;
    parts.push(JSON.stringify(key) + ":" + text);
  }
  return "{" + parts.join(",") + "}";
}

// A number token with a fraction or an exponent, outside strings: Python reads it as a float.
function hasFloat(text) {
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (/[-0-9]/.test(ch)) {
      const token = /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(text.slice(i))[0];
      if (/[.eE]/.test(token)) return true;
      i += token.length - 1;
    }
  }
  return false;
}

class Unreadable extends Error {}

function parseCanonical(bytes) {
  let text;
  let value;
  try {
    text = strictDecoder.decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw new Unreadable("not valid JSON");
  }
  if (hasFloat(text)) throw new Unreadable("floats are not allowed");
  const again = dumps(value, true);
  if (again === null || !sameBytes(encoder.encode(again), bytes)) {
    throw new Unreadable("JSON is valid but not in canonical form");
  }
  return value;
}

// Keys and signatures (service/crypto) --------------------------------------------------------

async function importKey(raw) {
  return subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
}

async function verifySignature(key, signature, data) {
  try {
    return await subtle.verify({ name: "Ed25519" }, key, signature, data);
  } catch {
    return false;
  }
}

async function thumbprint(x) {
  const canonical = `{"crv":"Ed25519","kty":"OKP","x":"${x}"}`;
  return b64urlEncode(await sha256(encoder.encode(canonical)));
}

class KeyRingError extends Error {}

async function publicKeysFromJwks(jwks) {
  const found = new Map();
  const keys = get(jwks, "keys");
  if (!Array.isArray(keys)) throw new KeyRingError("a JWK Set needs a 'keys' list");
  for (const jwk of keys) {
    if (!isDict(jwk) || jwk.kty !== "OKP" || jwk.crv !== "Ed25519") continue;
    let raw;
    try {
      raw = b64urlDecode(get(jwk, "x"));
    } catch (error) {
      throw new KeyRingError(`bad Ed25519 JWK: x: ${error.message}`);
    }
    if (raw.length !== 32) throw new KeyRingError("bad Ed25519 JWK: x is not 32 bytes");
    const kid = await thumbprint(b64urlEncode(raw));
    const named = get(jwk, "kid", kid);
    if (named !== kid) {
      throw new KeyRingError(`kid ${pyRepr(named)} is not the key's RFC 7638 thumbprint`);
    }
    found.set(kid, await importKey(raw));
  }
  return found;
}

class InvalidReceipt extends Error {
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

function decodePart(part, what) {
  try {
    return b64urlDecode(part);
  } catch (error) {
    throw new InvalidReceipt("bad_base64", `${what} is not base64url: ${error.message}`);
  }
}

// service.crypto.jws.verify_compact: the payload bytes, or InvalidReceipt.
async function verifyCompact(token, lookup) {
  if (typeof token !== "string") throw new InvalidReceipt("malformed", "a receipt is a string");
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[0]) {
    throw new InvalidReceipt("malformed", "a compact JWS has three parts and a header");
  }
  const [headerB64, payloadB64, signatureB64] = parts;
  const headerBytes = decodePart(headerB64, "header");
  let header;
  try {
    header = JSON.parse(strictDecoder.decode(headerBytes));
  } catch {
    throw new InvalidReceipt("bad_header", "header is not JSON");
  }
  if (!isDict(header)) throw new InvalidReceipt("bad_header", "header is not a JSON object");
  if (get(header, "alg") !== "EdDSA") {
    throw new InvalidReceipt("unsupported_alg", `alg ${pyRepr(get(header, "alg"))} is not EdDSA`);
  }
  if (get(header, "typ") !== RECEIPT_TYP) {
    throw new InvalidReceipt("bad_header", `typ ${pyRepr(get(header, "typ"))} is not ${RECEIPT_TYP}`);
  }
  if (Object.hasOwn(header, "crit")) {
    throw new InvalidReceipt("bad_header", "no critical header extensions are understood");
  }
  const kid = get(header, "kid");
  if (typeof kid !== "string") throw new InvalidReceipt("bad_header", "kid is missing");
  const key = lookup(kid);
  if (!key) throw new InvalidReceipt("unknown_kid", `no published key with kid ${pyRepr(kid)}`);
  const payload = decodePart(payloadB64, "payload");
  const signature = decodePart(signatureB64, "signature");
  if (signature.length !== 64) {
    throw new InvalidReceipt("bad_signature", "an Ed25519 signature has 64 bytes");
  }
  const signingInput = encoder.encode(`${headerB64}.${payloadB64}`);
  if (!(await verifySignature(key, signature, signingInput))) {
    throw new InvalidReceipt("bad_signature", "signature does not match header and payload");
  }
  return payload;
}

function attachSignature(payload, kid, signature) {
  const header = `{"alg":"EdDSA","kid":${JSON.stringify(kid)},"typ":"${RECEIPT_TYP}"}`;
  return `${b64urlEncode(encoder.encode(header))}.${b64urlEncode(payload)}.${signature}`;
}

// Checkpoints and Merkle proofs (service/ledger) ----------------------------------------------

// A detached signature over the canonical JSON of `fields`, as service/ledger signs checkpoints
// and erasure statements: false unless `kid` names a known key and the signature verifies.
async function verifySignedFields(fields, kid, signature, lookup) {
  const key = typeof kid === "string" ? lookup(kid) : null;
  if (!key) return false;
  const payload = dumps(fields, true);
  if (payload === null) return false;
  let bytes;
  try {
    bytes = b64urlDecode(signature);
  } catch {
    return false;
  }
  return verifySignature(key, bytes, encoder.encode(payload));
}

async function verifyCheckpoint(cp, lookup) {
  const fields = {
    typ: CHECKPOINT_TYPE,
    site: cp.site,
    tree_size: cp.tree_size,
    root_hash: cp.root_hash,
    timestamp: cp.timestamp,
    kid: cp.kid,
  };
  return verifySignedFields(fields, cp.kid, cp.signature, lookup);
}

const leafHash = (leaf) => sha256(concat(Uint8Array.of(0), leaf));
const nodeHash = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

// RFC 9162 section 2.1.3.2, as service.ledger.merkle.verify_inclusion.
async function verifyInclusion(leaf, index, treeSize, proof, root) {
  if (!(index >= 0 && index < treeSize) || root.length !== 32) return false;
  if (proof.some((p) => p.length !== 32)) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = await leafHash(leaf);
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn && fn % 2 === 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameBytes(r, root);
}

class MerkleAccumulator {
  constructor() {
    this.size = 0;
    this.stack = [];
  }

  async appendLeafHash(hashed) {
    let n = this.size;
    while (n % 2 === 1) {
      hashed = await nodeHash(this.stack.pop(), hashed);
      n = Math.floor(n / 2);
    }
    this.stack.push(hashed);
    this.size += 1;
  }

  async root() {
    if (!this.stack.length) return sha256(new Uint8Array());
    let r = this.stack[this.stack.length - 1];
    for (let i = this.stack.length - 2; i >= 0; i--) r = await nodeHash(this.stack[i], r);
    return r;
  }
}

// The report ----------------------------------------------------------------------------------

export class Report {
  constructor(kind) {
    this.kind = kind;
    this.checked = {};
    this.problems = [];
    this.notes = [];
  }

  get ok() {
    return this.problems.length === 0;
  }

  add(where, code, message) {
    this.problems.push({ where, code, message });
  }

  count(what) {
    this.checked[what] = (this.checked[what] || 0) + 1;
  }

  toJSON() {
    return {
      ok: this.ok,
      kind: this.kind,
      checked: this.checked,
      problems: this.problems,
      notes: this.notes,
    };
  }
}

// service.audit.offline.format_report, line for line.
export function formatReport(report) {
  const checked = Object.entries(report.checked)
    .map(([name, count]) => `${count} ${name}`)
    .join(", ");
  const lines = [`${report.kind}: ${report.ok ? "OK" : "FAILED"} (${checked || "nothing checked"})`];
  for (const note of report.notes) lines.push(`  note: ${note}`);
  for (const item of report.problems.slice(0, 100)) {
    lines.push(`  ${item.where}: ${item.code}: ${item.message}`);
  }
  if (report.problems.length > 100) {
    lines.push(`  ... and ${report.problems.length - 100} more problems`);
  }
  return lines.join("\n");
}

async function keySet(jwks, label, report) {
  try {
    return await publicKeysFromJwks(jwks);
  } catch (error) {
    if (!(error instanceof KeyRingError)) throw error;
    report.add("jwks", "bad_jwks", `${label} is unusable: ${error.message}`);
    return null;
  }
}

async function keysFor(fileJwks, siteJwks, report) {
  if (siteJwks === null || siteJwks === undefined) {
    if (fileJwks === null || fileJwks === undefined) {
      report.add("jwks", "no_jwks", "no JWKS: give the site's JWKS to check signatures");
      return null;
    }
    const keys = await keySet(fileJwks, "the JWKS in the file", report);
    if (keys === null) return null;
    report.notes.push(SELF_SIGNED_NOTE);
    return (kid) => keys.get(kid) || null;
  }
  const keys = await keySet(siteJwks, "the site's JWKS", report);
  if (keys === null) return null;
  if (fileJwks !== null && fileJwks !== undefined) {
    const inFile = await keySet(fileJwks, "the JWKS in the file", report);
    for (const kid of inFile ? inFile.keys() : []) {
      if (!keys.has(kid)) {
        report.add("jwks", "unknown_key", `key ${kid} in the file is not in the site's JWKS`);
      }
    }
  }
  return (kid) => keys.get(kid) || null;
}

async function checkpointFrom(data, lookup, report) {
  const wellFormed =
    isDict(data) &&
    Object.keys(data).length === CHECKPOINT_FIELDS.length &&
    CHECKPOINT_FIELDS.every((name) => Object.hasOwn(data, name)) &&
    typeof data.kid === "string";
  if (!wellFormed) {
    report.add("checkpoint", "bad_checkpoint", "checkpoint is missing or malformed");
    return null;
  }
  report.count("checkpoints");
  if (!(await verifyCheckpoint(data, lookup))) {
    report.add(
      `checkpoint ${pyStr(data.tree_size)}`,
      "checkpoint_bad_signature",
      "checkpoint signature is not valid for the key it names",
    );
    return null;
  }
  return data;
}

function signedBody(body, where, report) {
  let value;
  try {
    value = parseCanonical(body);
  } catch (error) {
    if (!(error instanceof Unreadable)) throw error;
    report.add(where, "body_unreadable", `body is not canonical JSON: ${error.message}`);
    return null;
  }
  if (!isDict(value)) {
    report.add(where, "body_unreadable", "body is not a JSON object");
    return null;
  }
  return value;
}

// Proof bundles -------------------------------------------------------------------------------

// str.rstrip() strips what Python calls whitespace.
const TRAILING_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/;

function normaliseText(value) {
  value = value.normalize("NFC").replace(/\r\n/g, "\n").replace(/\r/g, "\n");
  return value
    .split("\n")
    .map((line) => line.replace(TRAILING_SPACE, ""))
    .join("\n")
    .replace(/^\n+|\n+$/g, "");
}

function normaliseValue(value) {
  if (typeof value === "string") return normaliseText(value);
  if (isDict(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normaliseValue(v)]));
  }
  return value;
}

// service.documents.content.content_sha256.
async function documentHash(doc) {
  if (!Object.hasOwn(doc, "kind") || !Object.hasOwn(doc, "texts") || !isDict(doc.texts)) {
    return null;
  }
  const locales = Object.fromEntries(
    Object.entries(doc.texts).map(([locale, entry]) => [locale, normaliseValue(entry)]),
  );
  const text = dumps({ kind: doc.kind, locales }, false);
  return toHex(await sha256(encoder.encode(text)));
}

export async function verifyBundle(bundle, siteJwks = null) {
  const report = new Report("bundle");
  const lookup = await keysFor(get(bundle, "jwks"), siteJwks, report);
  if (lookup === null) return report;
  const checkpoint = await checkpointFrom(get(bundle, "checkpoint"), lookup, report);
  if (checkpoint !== null && checkpoint.site !== get(bundle, "site")) {
    report.add("checkpoint", "wrong_site", `checkpoint is for site ${pyRepr(checkpoint.site)}`);
  }
  const documents = isDict(get(bundle, "documents")) ? bundle.documents : {};
  for (const [key, doc] of Object.entries(documents)) {
    report.count("documents");
    if (!isDict(doc)) {
      report.add(key, "document_missing", "the document version is not in the bundle");
    } else if ((await documentHash(doc)) !== get(doc, "sha256")) {
      report.add(key, "document_hash_mismatch", "the texts do not hash to the sha256 given");
    }
  }
  const records = get(bundle, "records");
  for (const record of Array.isArray(records) ? records : []) {
    if (isDict(record)) await verifyRecord(record, bundle, documents, checkpoint, lookup, report);
    else report.add("records", "bad_record", "a record is not a JSON object");
  }
  if (!pyTruthy(records)) report.add("records", "no_records", "the bundle holds no records");
  checkListedRecords(bundle, records, report);
  return report;
}

function checkListedRecords(bundle, records, report) {
  const present = new Set();
  for (const record of Array.isArray(records) ? records : []) {
    if (isDict(record)) present.add(get(record, "seq"));
  }
  const listed = get(bundle, "banner_revisions");
  for (const revision of Array.isArray(listed) ? listed : []) {
    const seqs = get(revision, "seqs");
    for (const seq of Array.isArray(seqs) ? seqs : []) {
      if (isInt(seq) && !present.has(seq)) {
        const message = `seq ${seq} is listed in banner_revisions but its record is missing`;
        report.add("records", "record_missing", message);
      }
    }
  }
}

async function verifyRecord(record, bundle, documents, checkpoint, lookup, report) {
  const where = `seq ${pyStr(get(record, "seq"))}`;
  report.count("records");
  const body = encoder.encode(pyStr(get(record, "body", "")));
  if (toHex(await sha256(body)) !== get(record, "entry_hash")) {
    report.add(where, "entry_hash_mismatch", "body does not hash to entry_hash");
  }
  const signed = signedBody(body, where, report);
  if (signed === null) return;
  const expected = [
    ["site", get(bundle, "site")],
    ["subject", get(bundle, "subject")],
    ["seq", get(record, "seq")],
    ["id", get(record, "id")],
    ...SHOWN_FIELDS.map((name) => [name, get(record, name)]),
  ];
  for (const [name, value] of expected) {
    if (!pyEqual(get(signed, name), value)) {
      report.add(where, "field_mismatch", `${pyRepr(name)} shown differs from the signed body`);
    }
  }
  report.count("receipts");
  try {
    const payload = await verifyCompact(pyStr(get(record, "receipt")), lookup);
    if (!sameBytes(payload, body)) {
      report.add(where, "receipt_mismatch", "receipt is signed over another body");
    }
  } catch (error) {
    if (!(error instanceof InvalidReceipt)) throw error;
    report.add(where, "bad_receipt", `receipt does not verify: ${error.message}`);
  }
  const agreed = get(signed, "documents");
  for (const [kind, value] of Object.entries(isDict(agreed) ? agreed : {})) {
    const ref = isDict(value) ? value : {};
    const doc = get(documents, `${kind}:${pyStr(get(ref, "version"))}`);
    if (!isDict(doc) || !pyEqual(get(doc, "sha256"), get(ref, "sha256"))) {
      report.add(
        where,
        "document_mismatch",
        `${kind} version ${pyStr(get(ref, "version"))} agreed to is not in the bundle as signed`,
      );
    }
  }
  if (checkpoint !== null) {
    report.count("inclusion_proofs");
    if (!(await included(record, checkpoint))) {
      report.add(where, "not_included", "inclusion proof does not lead to the checkpoint root");
    }
  }
}

async function included(record, checkpoint) {
  const proof = isDict(get(record, "inclusion_proof")) ? record.inclusion_proof : {};
  const nodes = get(proof, "path", []);
  if (!Array.isArray(nodes)) return false;
  const path = nodes.map(fromHex);
  const seq = get(record, "seq", 0);
  if (path.includes(null) || typeof seq !== "number") return false;
  if (!pyEqual(get(proof, "leaf_index"), seq - 1)) return false;
  if (!pyEqual(get(proof, "tree_size"), checkpoint.tree_size)) return false;
  const leaf = fromHex(pyStr(get(record, "entry_hash")));
  const root = fromHex(checkpoint.root_hash);
  if (leaf === null || root === null || !isInt(proof.leaf_index) || !isInt(checkpoint.tree_size)) {
    return false;
  }
  return verifyInclusion(leaf, proof.leaf_index, checkpoint.tree_size, path, root);
}

// Receipts ------------------------------------------------------------------------------------

export async function verifyReceipt(token, siteJwks) {
  const report = new Report("receipt");
  if (siteJwks === null || siteJwks === undefined) {
    report.add("jwks", "no_jwks", "a receipt is checked with the site's JWKS: give it");
    return report;
  }
  const lookup = await keysFor(null, siteJwks, report);
  if (lookup === null) return report;
  report.count("receipts");
  let body;
  try {
    body = await verifyCompact(token.trim(), lookup);
  } catch (error) {
    if (!(error instanceof InvalidReceipt)) throw error;
    report.add("receipt", "bad_receipt", `receipt does not verify: ${error.message}`);
    return report;
  }
  report.body = signedBody(body, "receipt", report);
  return report;
}

// Exports -------------------------------------------------------------------------------------

function parseLine(line) {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

export async function verifyExport(lines, siteJwks = null) {
  const report = new Report("export");
  const header = lines.length ? parseLine(lines[0]) : undefined;
  if (!isDict(header) || header.type !== "header") {
    report.add("line 1", "bad_header", "the first line is not an export header");
    return report;
  }
  const lookup = await keysFor(get(header, "jwks"), siteJwks, report);
  if (lookup === null) return report;
  const checkpoints = [];
  const listed = get(header, "checkpoints");
  for (const data of Array.isArray(listed) ? listed : []) {
    const checkpoint = await checkpointFrom(data, lookup, report);
    if (checkpoint !== null) checkpoints.push(checkpoint);
  }
  const state = { end: null, lastSeq: null, entries: 0 };
  const entries = entriesOf(lines.slice(1), state, report);
  const firstSeq = get(header, "first_seq", 1);
  if (pyEqual(firstSeq, 1)) {
    const erasures = erasuresFrom(get(header, "erasures"), get(header, "last_seq"), report);
    const ledger = await verifyLedger(entries, checkpoints, lookup, erasures, get(header, "site"));
    for (const problem of ledger.problems) {
      report.add(`seq ${problem.seq}`, problem.code, problem.message);
    }
    if (ledger.problemCount > ledger.problems.length) {
      report.notes.push(`${ledger.problemCount} ledger problems, first ones listed`);
    }
    report.checked.checkpoints_matched = ledger.checkpointsChecked;
  } else {
    report.notes.push(
      `chain segment from seq ${pyStr(firstSeq)}: links, hashes and signatures are checked; ` +
        "Merkle roots need the entries from seq 1",
    );
    await verifySegment(entries, firstSeq, lookup, report);
  }
  report.checked.entries = state.entries;
  if (state.end === null) {
    report.add("end", "truncated_file", "the file has no end line: it was cut off");
  } else if (!pyEqual(state.end, state.entries)) {
    report.add("end", "count_mismatch", "the end line counts another number of entries");
  }
  const last = get(header, "last_seq");
  if (state.entries && !pyEqual(state.lastSeq, last)) {
    report.add("end", "count_mismatch", `header says the last seq is ${pyStr(last)}`);
  }
  return report;
}

function* entriesOf(lines, state, report) {
  for (const [index, line] of lines.entries()) {
    const number = index + 2;
    if (!line.trim()) continue;
    const data = parseLine(line);
    if (!isDict(data)) {
      report.add(`line ${number}`, "bad_line", "line is not a JSON object");
      continue;
    }
    if (data.type === "end") {
      state.end = get(data, "entries");
      continue;
    }
    if (state.end !== null) {
      report.add(`line ${number}`, "after_end", "entries after the end line");
    }
    if (!isInt(data.seq)) {
      report.add(`line ${number}`, "bad_line", "entry has no integer seq");
      continue;
    }
    const body = get(data, "body");
    const shown = get(data, "record"); // what a redacted entry still shows
    state.entries += 1;
    state.lastSeq = data.seq;
    yield {
      columns: body === null && isDict(shown) ? shown : {},
      seq: data.seq,
      id: get(data, "id"),
      body: typeof body === "string" ? encoder.encode(body) : null,
      entryHash: get(data, "entry_hash"),
      prevHash: get(data, "prev_hash"),
      kid: get(data, "kid"),
      signature: get(data, "signature"),
      redacted: Boolean(get(data, "redacted")),
    };
  }
}

async function checkEntrySignature(entry, lookup) {
  try {
    await verifyCompact(attachSignature(entry.body, entry.kid, entry.signature || ""), lookup);
    return null;
  } catch (error) {
    if (!(error instanceof InvalidReceipt)) throw error;
    return error.message;
  }
}

async function verifySegment(entries, firstSeq, lookup, report) {
  let expected = firstSeq;
  let previous = null;
  for (const entry of entries) {
    const where = `seq ${entry.seq}`;
    if (!pyEqual(entry.seq, expected)) report.add(where, "missing_seq", `expected seq ${pyStr(expected)}`);
    expected = entry.seq + 1;
    if (previous !== null && entry.prevHash !== previous) {
      report.add(where, "broken_link", "prev_hash is not the previous entry's hash");
    }
    previous = entry.entryHash;
    if (entry.body === null) continue;
    if (toHex(await sha256(entry.body)) !== entry.entryHash) {
      report.add(where, "entry_hash_mismatch", "body does not hash to entry_hash");
    }
    const doc = signedBody(entry.body, where, report);
    if (doc === null) continue;
    for (const [name, value] of [
      ["seq", entry.seq],
      ["id", entry.id],
      ["kid", entry.kid],
      ["prev_hash", entry.prevHash],
    ]) {
      if (!pyEqual(get(doc, name), value)) {
        report.add(where, "column_mismatch", `${name} differs from the body`);
      }
    }
    const failure = await checkEntrySignature(entry, lookup);
    if (failure !== null) report.add(where, "bad_signature", failure);
  }
}

// Erasure log (service/ledger/erasure.py, evidence.py) -----------------------------------------

// service.ledger.erasure.statement_from_dict: exactly its fields, seqs as [first, last] pairs.
function erasureFrom(data) {
  if (!isDict(data)) return null;
  const keys = Object.keys(data);
  const known = [...ERASURE_FIELDS, ...ERASURE_SIGNED_FIELDS];
  if (keys.some((key) => !known.includes(key)) || ERASURE_FIELDS.some((key) => !(key in data))) {
    return null;
  }
  const seqs = data.seqs;
  const wellFormed =
    Array.isArray(seqs) &&
    seqs.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every(isInt));
  if (!wellFormed) return null;
  const statement = { ...data };
  for (const key of ERASURE_SIGNED_FIELDS) if (!(key in statement)) statement[key] = null;
  return statement;
}

function erasuresFrom(data, last, report) {
  const statements = [];
  for (const item of Array.isArray(data) ? data : []) {
    const statement = erasureFrom(item);
    if (statement === null) report.add("header", "bad_erasure", "an erasure-log entry is malformed");
    else statements.push(statement);
  }
  if (statements.length) report.checked.erasures = statements.length;
  if (!isInt(last)) return statements;
  return statements.filter((s) => s.seqs.every((pair) => pair[1] <= last));
}

async function verifyErasure(statement, lookup) {
  const fields = {
    typ: ERASURE_TYPE,
    site: statement.site,
    erased_at: statement.erased_at,
    reason: statement.reason,
    subject_hmac: statement.subject_hmac,
    seqs: statement.seqs,
    records: statement.records,
    visible_sha256: statement.visible_sha256,
    kid: statement.kid,
  };
  return verifySignedFields(fields, statement.kid, statement.signature, lookup);
}

function seqsText(ranges) {
  const shown = ranges
    .slice(0, 5)
    .map(([a, b]) => (a === b ? `${a}` : `${a}..${b}`))
    .join(", ");
  return `seq ${shown}${ranges.length > 5 ? ", ..." : ""}`;
}

// service.ledger.evidence.ErasureCheck: rows without a body against the erasure log.
class ErasureCheck {
  constructor(statements, add) {
    this.add = add;
    this.erasures = statements.map((statement) => ({
      statement,
      firstSeq: statement.seqs.length ? Math.min(...statement.seqs.map((pair) => pair[0])) : 1,
      lines: [],
    }));
    this.ranges = [];
    this.erasures.forEach((erasure, index) => {
      for (const [first, last] of erasure.statement.seqs) this.ranges.push([first, last, index]);
    });
    this.ranges.sort((x, y) => x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);
    this.nextRange = 0;
    this.open = [];
  }

  check(seq, entry) {
    const ranges = this.ranges;
    while (this.nextRange < ranges.length && ranges[this.nextRange][0] <= seq) {
      const [, last, index] = ranges[this.nextRange];
      this.open.push([last, index]);
      this.nextRange += 1;
    }
    this.open = this.open.filter((pair) => pair[0] >= seq);
    if (entry.body === null) {
      if (!this.open.length) {
        this.add(seq, "redaction_unlogged", `seq ${seq} was redacted, but no erasure-log entry names it`);
        return;
      }
      const visible = { seq, id: entry.id, entry_hash: entry.entryHash, prev_hash: entry.prevHash };
      visible.kid = entry.kid;
      visible.signature = entry.signature;
      for (const name of VISIBLE_COLUMNS) visible[name] = get(entry.columns, name);
      const line = dumps(visible, false);
      for (const [, index] of this.open) this.erasures[index].lines.push(line);
    } else if (this.open.length) {
      const erasedAt = pyStr(this.erasures[this.open[0][1]].statement.erased_at);
      const message = `the erasure of ${erasedAt} names seq ${seq}, which still has its body`;
      this.add(seq, "erasure_not_redacted", message);
    }
  }

  async finish(site, lookup) {
    for (const erasure of this.erasures) {
      const statement = erasure.statement;
      const seq = erasure.firstSeq;
      const what = `the erasure of ${pyStr(statement.erased_at)} (${seqsText(statement.seqs)})`;
      if (statement.signature === null) {
        const message = `${what} is not signed (logged before migration 0014 or by hand)`;
        this.add(seq, "redaction_unsigned", message);
      } else if (!(await verifyErasure(statement, lookup))) {
        this.add(seq, "erasure_bad_signature", `${what} has no valid signature`);
      } else if (site !== null && statement.site !== site) {
        this.add(seq, "erasure_wrong_site", `${what} is for site ${pyRepr(statement.site)}`);
      } else {
        const text = erasure.lines.map((line) => line + "\n").join("");
        const digest = toHex(await sha256(encoder.encode(text)));
        if (erasure.lines.length !== statement.records || digest !== statement.visible_sha256) {
          const message = `what the table shows of ${seqsText(statement.seqs)} differs from ${what}`;
          this.add(seq, "erasure_mismatch", message);
        }
      }
    }
  }
}

// service.ledger.verify.verify_ledger with check_signatures=True, an erasure log and no columns
// (but what redacted entries still show).
async function verifyLedger(entries, checkpoints, lookup, erasureLog = [], expectedSite = null) {
  const findings = { items: [], count: 0 };
  const add = (seq, code, message) => {
    findings.count += 1;
    if (findings.items.length < MAX_PROBLEMS) findings.items.push({ seq, code, message });
  };
  const pending = [...checkpoints].sort((a, b) => a.tree_size - b.tree_size);
  let nextCp = 0;
  let lastGoodSize = 0;
  let firstProblemAfterGood = null;
  let checkpointsChecked = 0;
  const acc = new MerkleAccumulator();
  let site = null;
  const erasures = new ErasureCheck(erasureLog, add);

  const settle = async () => {
    while (nextCp < pending.length && pyEqual(pending[nextCp].tree_size, acc.size)) {
      const cp = pending[nextCp];
      nextCp += 1;
      checkpointsChecked += 1;
      const blame = firstProblemAfterGood || lastGoodSize + 1;
      if (cp.site !== site && site !== null) {
        add(blame, "checkpoint_wrong_site", `checkpoint is for site ${pyRepr(cp.site)}`);
      } else if (!(await verifyCheckpoint(cp, lookup))) {
        add(
          blame,
          "checkpoint_bad_signature",
          `checkpoint at tree size ${pyStr(cp.tree_size)} has no valid signature (kid ${pyStr(cp.kid)})`,
        );
      } else if (toHex(await acc.root()) !== cp.root_hash) {
        add(
          blame,
          "checkpoint_mismatch",
          `Merkle root of entries 1..${pyStr(cp.tree_size)} differs from the signed ` +
            `checkpoint of ${pyStr(cp.timestamp)}: entries after seq ${lastGoodSize} were changed`,
        );
      } else {
        lastGoodSize = cp.tree_size;
        firstProblemAfterGood = null;
      }
    }
  };
  const problem = (seq, code, message) => {
    add(seq, code, message);
    if (firstProblemAfterGood === null || seq < firstProblemAfterGood) firstProblemAfterGood = seq;
  };

  await settle();
  let expectedSeq = 1;
  let lastSeq = 0;
  let linkStored = GENESIS_HASH;
  let linkComputed = GENESIS_HASH;
  let afterGap = false;
  for (const entry of entries) {
    const seq = entry.seq;
    if (seq < expectedSeq) {
      const code = seq === lastSeq ? "duplicate_seq" : "out_of_order";
      problem(seq, code, `seq ${seq} comes again after seq ${lastSeq}`);
      continue;
    }
    if (seq > expectedSeq) {
      const gap = seq === expectedSeq + 1 ? `${expectedSeq}` : `${expectedSeq}..${seq - 1}`;
      problem(expectedSeq, "missing_seq", `seq ${gap} missing before seq ${seq}`);
      afterGap = true;
    }
    const stored = entry.entryHash;
    let linked;
    let digest;
    let computed;
    if (entry.body === null) {
      const wellFormed = typeof stored === "string" && HEX64.test(stored);
      if (!entry.redacted) {
        problem(seq, "missing_body", "row has no body but is not marked redacted");
      } else if (!wellFormed) {
        problem(seq, "bad_entry_hash", "redacted row has no valid entry_hash");
      }
      linked = entry.prevHash;
      digest = wellFormed ? fromHex(stored) : new Uint8Array(32);
      computed = stored;
    } else {
      digest = await sha256(entry.body);
      computed = toHex(digest);
      if (computed !== stored) {
        problem(seq, "entry_hash_mismatch", "body does not hash to the stored entry_hash");
      }
      let doc;
      try {
        doc = JSON.parse(strictDecoder.decode(entry.body));
      } catch {
        doc = null;
      }
      if (!isDict(doc)) {
        problem(seq, "body_unreadable", "body is not a JSON object");
        linked = entry.prevHash;
      } else {
        linked = get(doc, "prev_hash");
        if (!pyEqual(get(doc, "v"), FORMAT_VERSION)) {
          problem(seq, "unknown_version", `body format v=${pyRepr(get(doc, "v"))}`);
        }
        if (!pyEqual(get(doc, "seq"), seq)) {
          problem(seq, "column_mismatch", `row seq ${seq}, body seq ${pyRepr(get(doc, "seq"))}`);
        }
        if (get(doc, "id") !== pyStr(entry.id)) {
          problem(seq, "column_mismatch", "row id differs from body id");
        }
        if (!pyEqual(get(doc, "kid"), entry.kid)) {
          problem(seq, "column_mismatch", "row kid differs from body kid");
        }
        if (!pyEqual(linked, entry.prevHash)) {
          problem(seq, "column_mismatch", "row prev_hash differs from body prev_hash");
        }
        const bodySite = get(doc, "site");
        if (site === null) site = bodySite;
        else if (!pyEqual(bodySite, site)) {
          problem(seq, "wrong_site", `entry of site ${pyRepr(bodySite)} in ledger of ${pyRepr(site)}`);
        }
      }
      if (!entry.signature) {
        problem(seq, "signature_missing", "entry has no receipt signature");
      } else {
        const failure = await checkEntrySignature(entry, lookup);
        if (failure !== null) problem(seq, "bad_signature", `receipt signature invalid: ${failure}`);
      }
    }
    if (!afterGap && !pyEqual(linked, linkStored) && !pyEqual(linked, linkComputed)) {
      problem(seq, "broken_link", `prev_hash does not match the entry hash of seq ${seq - 1}`);
    }
    afterGap = false;
    erasures.check(seq, entry);
    linkStored = stored;
    linkComputed = computed;
    await acc.appendLeafHash(await leafHash(digest));
    lastSeq = seq;
    expectedSeq = seq + 1;
    await settle();
  }
  for (const cp of pending.slice(nextCp)) {
    checkpointsChecked += 1;
    if (await verifyCheckpoint(cp, lookup)) {
      add(
        lastSeq + 1,
        "truncated",
        `checkpoint covers ${pyStr(cp.tree_size)} entries, the ledger holds ${acc.size}`,
      );
    } else {
      add(
        firstProblemAfterGood || lastGoodSize + 1,
        "checkpoint_bad_signature",
        `checkpoint at tree size ${pyStr(cp.tree_size)} has no valid signature (kid ${pyStr(cp.kid)})`,
      );
    }
  }
  await erasures.finish(expectedSite || site, lookup);
  return { problems: findings.items, problemCount: findings.count, checkpointsChecked };
}

// Files ---------------------------------------------------------------------------------------

function unknown() {
  const report = new Report("unknown");
  report.add("file", "unreadable", "neither a proof bundle, an export nor a receipt");
  return report;
}

// service.audit.offline.verify_text: tells a bundle, an export and a receipt apart and checks it.
export async function verifyText(text, siteJwks = null) {
  const head = parseLine(text.split("\n", 1)[0]);
  if (isDict(head) && head.type === "header") return verifyExport(text.split("\n"), siteJwks);
  if (COMPACT_JWS.test(text.trim())) return verifyReceipt(text, siteJwks);
  const bundle = parseLine(text);
  if (!isDict(bundle) || !Object.hasOwn(bundle, "records")) return unknown();
  return verifyBundle(bundle, siteJwks);
}

// The /verify page: reads the file and the JWKS in the browser, runs verifier.js and shows its
// report. The only request this page makes is the GET of a JWKS URL the user typed.
import { formatReport, verifyText } from "./verifier.js";

const $ = (id) => document.getElementById(id);
// What to check: the file or text the user gave last (a drop, the file picker or a paste).
let source = null;

function readFile(file) {
  return file.text();
}

async function fileText() {
  if (source === null) return null;
  if (source instanceof File) return readFile(source);
  return source.trim() ? source : null;
}

function choose(value, label) {
  source = value;
  $("file-name").textContent = label;
}

async function siteJwks() {
  const file = $("jwks-file").files[0];
  if (file) return JSON.parse(await readFile(file));
  const url = $("jwks-url").value.trim();
  if (!url) return null;
  const response = await fetch(url, {
    method: "GET",
    credentials: "omit",
    referrerPolicy: "no-referrer",
    cache: "no-store",
  });
  if (!response.ok) throw new Error(`the JWKS URL answered ${response.status}`);
  return response.json();
}

function cell(row, label, text) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.textContent = text;
  row.appendChild(td);
}

function describe(report) {
  const parts = Object.entries(report.checked).map(([name, n]) => `${n} ${name.replace(/_/g, " ")}`);
  const what = { bundle: "Proof bundle", export: "Export", receipt: "Receipt" }[report.kind];
  const checked = parts.length ? `Checked: ${parts.join(", ")}.` : "Nothing could be checked.";
  return what ? `${what}. ${checked}` : checked;
}

function showReceipt(body) {
  const list = $("receipt-fields");
  list.replaceChildren();
  const fields = ["site", "subject", "action", "choices", "documents", "method", "gpc", "locale", "recorded_at", "seq", "id"];
  for (const name of fields) {
    if (!(name in body)) continue;
    const term = document.createElement("dt");
    term.textContent = name;
    const value = document.createElement("dd");
    const data = body[name];
    value.textContent = typeof data === "object" && data !== null ? JSON.stringify(data) : String(data);
    list.append(term, value);
  }
  $("receipt-block").hidden = false;
}

function show(report) {
  const result = $("result");
  result.hidden = false;
  result.dataset.ok = String(report.ok);
  $("result-title").textContent = report.ok ? "✔ Verified" : "✘ Not verified";
  $("result-summary").textContent = describe(report);
  const rows = $("problems").tBodies[0];
  rows.replaceChildren();
  for (const problem of report.problems) {
    const row = rows.insertRow();
    row.dataset.code = problem.code;
    cell(row, "Where", problem.where);
    cell(row, "Code", problem.code);
    cell(row, "What is wrong", problem.message);
  }
  $("problems-block").hidden = report.problems.length === 0;
  const notes = $("notes");
  notes.replaceChildren(
    ...report.notes.map((note) => Object.assign(document.createElement("li"), { textContent: note })),
  );
  $("notes-block").hidden = report.notes.length === 0;
  $("receipt-block").hidden = true;
  if (report.kind === "receipt" && report.body) showReceipt(report.body);
  $("report-text").textContent = formatReport(report);
  $("result-title").focus();
}

function showError(message) {
  show({
    kind: "unknown",
    ok: false,
    checked: {},
    problems: [{ where: "input", code: "unreadable", message }],
    notes: [],
  });
}

async function verify(event) {
  event.preventDefault();
  const button = $("verify-button");
  button.disabled = true;
  button.textContent = "Verifying…";
  try {
    const text = await fileText();
    if (text === null) {
      showError("choose, drop or paste a proof bundle, an export or a receipt");
      return;
    }
    let jwks;
    try {
      jwks = await siteJwks();
    } catch (error) {
      showError(`the site's JWKS could not be read: ${error.message}`);
      return;
    }
    show(await verifyText(text, jwks));
  } finally {
    button.disabled = false;
    button.textContent = "Verify";
  }
}

function setUpDropZone() {
  const zone = $("drop-zone");
  const input = $("file-input");
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("active");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("active"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("active");
    const [file] = event.dataTransfer.files;
    if (file) choose(file, `To check: ${file.name} (dropped)`);
  });
  input.addEventListener("change", () => {
    const [file] = input.files;
    choose(file || null, file ? `To check: ${file.name}` : "");
  });
  $("paste-input").addEventListener("input", (event) => {
    const text = event.target.value;
    choose(text, text.trim() ? "To check: the pasted text" : "");
  });
}

setUpDropZone();
$("verify-form").addEventListener("submit", verify);
document.documentElement.dataset.ready = "true";

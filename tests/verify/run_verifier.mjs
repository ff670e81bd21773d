// Runs the browser verifier (service/verify/static/verifier.js) under Node on the cases given as
// JSON on stdin ([{text, jwks}]) and prints their reports as JSON: what test_parity.py compares
// with the Python verifier's reports.
import { readFileSync } from "node:fs";
import { verifyText, formatReport } from "../../service/verify/static/verifier.js";

const cases = JSON.parse(readFileSync(0, "utf-8"));
const reports = [];
for (const { text, jwks } of cases) {
  const report = await verifyText(text, jwks ?? null);
  reports.push({ report: report.toJSON(), text: formatReport(report) });
}
process.stdout.write(JSON.stringify(reports));

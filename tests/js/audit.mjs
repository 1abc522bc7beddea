// Runs graphql-http's server audits (the GraphQL-over-HTTP specification's
// MUST, SHOULD and MAY checks) against a running GraphQL endpoint and
// prints every result, one line each, then the counts. Exits 1 when any
// audit warns or errs (notices are printed, and do not fail), naming them.
//
//   node audit.mjs http://127.0.0.1:4000/graphql

import { serverAudits } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs <graphql endpoint url>");
  process.exit(2);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const failing = [];
for (const audit of serverAudits({ url })) {
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // The audit itself could not run (the server is down, ...): an error.
    result = { id: audit.id, name: audit.name, status: "error", reason: `audit threw: ${err}` };
  }
  counts[result.status] += 1;
  if (result.status === "ok") {
    console.log(`ok     ${result.id} ${result.name}`);
    continue;
  }
  const body = result.response ? await describe(result.response) : "";
  console.log(`${result.status.padEnd(6)} ${result.id} ${result.name}: ${result.reason}${body}`);
  if (result.status === "warn" || result.status === "error") {
    failing.push(`${result.id} ${result.name}`);
  }
}

console.log(
  `audit of ${url}: ${counts.ok} ok, ${counts.notice} notice, ${counts.warn} warn, ${counts.error} error`,
);
if (failing.length > 0) {
  console.log("failing audits:");
  for (const name of failing) {
    console.log(`  ${name}`);
  }
  process.exit(1);
}

/** The status, content type and body of an audited answer, on one line. */
async function describe(response) {
  let text = "";
  try {
    text = await response.clone().text();
  } catch {
    // The audit already read the body.
  }
  const type = response.headers.get("content-type") ?? "no content-type";
  return ` [HTTP ${response.status}, ${type}] ${text.slice(0, 300)}`;
}

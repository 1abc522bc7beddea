// Validates every `examples/*.graphql` against `schema.graphql` with
// graphql-js (`buildSchema`, `parse`, `validate`: every rule of the
// specification, "fields can merge" included), as every spec-checking
// client tool does. Prints each error with its file and location; exits 1
// when any file fails, after checking them all.
//
//   node validate.mjs [REPO_ROOT]   (default: two levels up)

import { readFileSync } from "node:fs";
import { buildSchema, parse, validate, GraphQLError } from "graphql";
import { exampleFiles, repoRoot } from "./lib.mjs";

const root = repoRoot(process.argv[2]);
const schema = buildSchema(readFileSync(`${root}/schema.graphql`, "utf8"));
const files = exampleFiles(root);
if (files.length === 0) {
  console.error(`no examples/*.graphql under ${root}`);
  process.exit(1);
}

const failed = [];
for (const file of files) {
  const source = readFileSync(`${root}/${file}`, "utf8");
  let errors;
  try {
    errors = validate(schema, parse(source));
  } catch (err) {
    errors = [err instanceof GraphQLError ? err : new GraphQLError(String(err))];
  }
  if (errors.length === 0) {
    console.log(`ok      ${file}`);
    continue;
  }
  failed.push(file);
  console.log(`INVALID ${file}: ${errors.length} error(s)`);
  for (const error of errors) {
    const at = (error.locations ?? []).map((l) => `${file}:${l.line}:${l.column}`);
    console.log(`  ${at.join(", ") || file}: ${error.message}`);
  }
}
console.log(`${files.length - failed.length} of ${files.length} examples valid`);
if (failed.length > 0) {
  console.log(`invalid: ${failed.join(" ")}`);
  process.exit(1);
}

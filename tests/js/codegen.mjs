// Runs GraphQL Code Generator (the `typescript` and `typescript-operations`
// plugins, through `@graphql-codegen/core`, the engine its CLI drives) over
// each `examples/*.graphql` against `schema.graphql`, writing one `.ts`
// file per example into a temporary directory, then type-checks them all
// with `tsc --noEmit --strict` (the TypeScript compiler's API). Prints
// every failure with its file; exits 1 when any example fails.
//
//   node codegen.mjs [REPO_ROOT] [--keep]   (--keep: leave the .ts files)

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { codegen } from "@graphql-codegen/core";
import * as typescriptPlugin from "@graphql-codegen/typescript";
import * as operationsPlugin from "@graphql-codegen/typescript-operations";
import { buildSchema, parse, Source } from "graphql";
import ts from "typescript";
import { exampleFiles, repoRoot } from "./lib.mjs";

const args = process.argv.slice(2);
const keep = args.includes("--keep");
const root = repoRoot(args.find((a) => !a.startsWith("--")));
const sdl = readFileSync(`${root}/schema.graphql`, "utf8");
const schema = parse(sdl);
const schemaAst = buildSchema(sdl);

// The schema's custom scalars as the gateway serializes them: `Decimal`
// is a string (exact decimal digits), `JSON` is any JSON value.
const config = {
  scalars: {
    Decimal: "string",
    JSON: "unknown",
  },
  strictScalars: true,
  enumsAsTypes: true,
  avoidOptionals: false,
};

const out = mkdtempSync(join(tmpdir(), "offer-gateway-codegen-"));
const failed = [];
const generated = [];
for (const file of exampleFiles(root)) {
  const source = readFileSync(`${root}/${file}`, "utf8");
  const target = join(out, `${basename(file, ".graphql")}.ts`);
  try {
    const output = await codegen({
      filename: target,
      schema,
      schemaAst,
      documents: [{ location: file, document: parse(new Source(source, file)) }],
      plugins: [{ typescript: {} }, { "typescript-operations": {} }],
      pluginMap: {
        typescript: typescriptPlugin,
        "typescript-operations": operationsPlugin,
      },
      config,
    });
    writeFileSync(target, output);
    generated.push(target);
    console.log(`generated ${file} -> ${basename(target)}`);
  } catch (err) {
    failed.push(file);
    console.log(`CODEGEN FAILED ${file}:`);
    for (const line of describe(err)) {
      console.log(`  ${line}`);
    }
  }
}

if (generated.length > 0) {
  const program = ts.createProgram(generated, {
    noEmit: true,
    strict: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.ES2020,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  for (const d of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (d.file && d.start !== undefined) {
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      const name = basename(d.file.fileName);
      console.log(`TSC ${name}:${line + 1}:${character + 1}: TS${d.code} ${message}`);
      const example = `examples/${basename(name, ".ts")}.graphql`;
      if (!failed.includes(example)) {
        failed.push(example);
      }
    } else {
      console.log(`TSC TS${d.code} ${message}`);
      failed.push("(tsc)");
    }
  }
  console.log(`tsc --noEmit --strict: ${diagnostics.length} diagnostic(s) over ${generated.length} file(s)`);
}

if (keep) {
  console.log(`generated files kept in ${out}`);
} else {
  rmSync(out, { recursive: true, force: true });
}
if (failed.length > 0) {
  console.log(`failed: ${failed.join(" ")}`);
  process.exit(1);
}
console.log("every example generates TypeScript that type-checks");

/** The non-empty lines of a codegen failure's message. */
function describe(err) {
  return String(err?.message ?? err)
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

// What the scripts share: where the repository is, and its examples.

import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";

/** The repository's root: `given`, or two levels above this file. */
export function repoRoot(given) {
  return given ? resolve(given) : resolve(dirname(fileURLToPath(import.meta.url)), "../..");
}

/** `examples/*.graphql`, relative to `root`, sorted. */
export function exampleFiles(root) {
  return readdirSync(`${root}/examples`)
    .filter((name) => name.endsWith(".graphql"))
    .sort()
    .map((name) => `examples/${name}`);
}

// Generates src/api/schema.d.ts from ../openapi/openapi.json with openapi-typescript.
// `--check` compares instead of writing and fails when the committed file is stale.
// Operations are typed by path and method: the document's operationIds are not unique yet,
// and openapi-typescript would merge operations that share one.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TARGET = "src/api/schema.d.ts";
const check = process.argv.includes("--check");
const doc = JSON.parse(readFileSync("../openapi/openapi.json", "utf8"));
for (const item of Object.values(doc.paths ?? {})) {
  for (const op of Object.values(item)) if (op && typeof op === "object") delete op.operationId;
}
const dir = mkdtempSync(join(tmpdir(), "plugboard-client-"));
try {
  const input = join(dir, "openapi.json");
  const output = join(dir, "schema.d.ts");
  writeFileSync(input, JSON.stringify(doc));
  execFileSync(process.execPath, ["node_modules/openapi-typescript/bin/cli.js", input, "-o", output], { stdio: "pipe" });
  const fresh = readFileSync(output, "utf8");
  if (!check) {
    writeFileSync(TARGET, fresh);
    console.log(`Wrote ${TARGET}.`);
  } else if (readFileSync(TARGET, "utf8") !== fresh) {
    console.error(`${TARGET} is stale: run \`npm run gen\` in frontend/ and commit it.`);
    process.exit(1);
  } else {
    console.log("The generated API client matches openapi/openapi.json.");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

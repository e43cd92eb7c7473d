// Reports the gzip size of the JS the first page load needs (the entry and what it imports
// statically), and fails past the budget. Lazy route chunks are not counted.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const BUDGET = 100 * 1024;
const html = readFileSync("dist/index.html", "utf8");
const files = new Set();
for (const m of html.matchAll(/<(?:script|link)[^>]+(?:src|href)="\/([^"]+\.js)"/g)) files.add(m[1]);
let total = 0;
const lines = [];
for (const f of files) {
  const size = gzipSync(readFileSync(join("dist", f))).length;
  total += size;
  lines.push(`  ${f}: ${(size / 1024).toFixed(1)} KB gzip`);
}
console.log(`Initial JS: ${(total / 1024).toFixed(1)} KB gzip (budget ${BUDGET / 1024} KB)\n${lines.join("\n")}`);
if (total > BUDGET) {
  console.error("The initial JS is over budget: split routes with React.lazy.");
  process.exit(1);
}

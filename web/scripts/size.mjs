// Bundle budget: prints the gzipped size of each built asset and fails when a budget is exceeded.
// Run after `npm run build` (CI: `npm run build && npm run size`).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_KB = {
  entry: 110, // react + react-dom + router + the app shell
  total: 240, // everything, including the lazy chart chunk (lightweight-charts + apache-arrow)
};

const dir = new URL("../dist/assets/", import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith(".js") || f.endsWith(".css"));
let total = 0;
let entry = 0;
for (const file of files.sort()) {
  const gz = gzipSync(readFileSync(join(dir, file)), { level: 9 }).length / 1024;
  total += gz;
  if (file.startsWith("index-")) entry += gz;
  console.log(`${file.padEnd(36)} ${gz.toFixed(1).padStart(7)} kB gzip`);
}
console.log(`${"entry (index-*)".padEnd(36)} ${entry.toFixed(1).padStart(7)} kB gzip  (budget ${BUDGET_KB.entry})`);
console.log(`${"total".padEnd(36)} ${total.toFixed(1).padStart(7)} kB gzip  (budget ${BUDGET_KB.total})`);
if (entry > BUDGET_KB.entry || total > BUDGET_KB.total) {
  console.error("Bundle budget exceeded.");
  process.exit(1);
}

// Bundle budget: prints the gzipped size of each built asset and fails when a budget is exceeded.
// Run after `npm run build` (CI: `npm run build && npm run size`).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_KB = {
  entry: 110, // react + react-dom + router + the app shell
  total: 240, // everything but the strategies, projections and assistant chunks, including the lazy chart chunk (lightweight-charts + apache-arrow)
  strategies: 140, // the lazy Strategies workbench (forms, results, screens, their CSS) and its CodeMirror editor
  projections: 15, // the lazy Projections workbench (form, list, evaluation, leaderboard, the chart's band and legend, their CSS)
  assistant: 24, // the lazy assistant pane (sessions, conversation, markdown-to-jsx, tool cards, agents, the chart's evidence, its CSS)
};
// Loaded only when strategies or screens are first shown on the Analysis page; with them, what only
// they and the projections share (TanStack Query's useMutation, split out once both used it).
const STRATEGY_CHUNKS = ["StrategyWorkbench-", "StrategyEditor-", "useMutation-"];
// Loaded only when projections are first shown: the section opened, or one drawn from the URL.
const PROJECTION_CHUNKS = ["ProjectionsWorkbench-"];
// Loaded with the Analysis page, after it: the assistant in the right pane.
const ASSISTANT_CHUNKS = ["AssistantWorkbench-"];

const dir = new URL("../dist/assets/", import.meta.url).pathname;
const files = readdirSync(dir).filter((f) => f.endsWith(".js") || f.endsWith(".css"));
let total = 0;
let entry = 0;
let strategies = 0;
let projections = 0;
let assistant = 0;
for (const file of files.sort()) {
  const gz = gzipSync(readFileSync(join(dir, file)), { level: 9 }).length / 1024;
  if (STRATEGY_CHUNKS.some((prefix) => file.startsWith(prefix))) strategies += gz;
  else if (PROJECTION_CHUNKS.some((prefix) => file.startsWith(prefix))) projections += gz;
  else if (ASSISTANT_CHUNKS.some((prefix) => file.startsWith(prefix))) assistant += gz;
  else total += gz;
  if (file.startsWith("index-")) entry += gz;
  console.log(`${file.padEnd(36)} ${gz.toFixed(1).padStart(7)} kB gzip`);
}
console.log(`${"entry (index-*)".padEnd(36)} ${entry.toFixed(1).padStart(7)} kB gzip  (budget ${BUDGET_KB.entry})`);
console.log(`${"total (but the lazy workbenches)".padEnd(36)} ${total.toFixed(1).padStart(7)} kB gzip  (budget ${BUDGET_KB.total})`);
console.log(`${"strategies (lazy)".padEnd(36)} ${strategies.toFixed(1).padStart(7)} kB gzip  (budget ${BUDGET_KB.strategies})`);
console.log(`${"projections (lazy)".padEnd(36)} ${projections.toFixed(1).padStart(7)} kB gzip  (budget ${BUDGET_KB.projections})`);
console.log(`${"assistant (lazy)".padEnd(36)} ${assistant.toFixed(1).padStart(7)} kB gzip  (budget ${BUDGET_KB.assistant})`);
if (
  entry > BUDGET_KB.entry ||
  total > BUDGET_KB.total ||
  strategies > BUDGET_KB.strategies ||
  projections > BUDGET_KB.projections ||
  assistant > BUDGET_KB.assistant
) {
  console.error("Bundle budget exceeded.");
  process.exit(1);
}

// Writes data/delivery.csv: since which version Chrome, Edge, Firefox and Safari decode each
// image format in <img>, from the caniuse-lite package (caniuse.com data, CC BY 4.0,
// https://caniuse.com). codecbench embeds the table and says where a format can be served.
//
//   cd "$(mktemp -d)" && npm install --no-save caniuse-lite
//   NODE_PATH="$PWD/node_modules" node /path/to/codecbench/scripts/browser_support.mjs \
//       > /path/to/codecbench/data/delivery.csv
//
// A version counts when caniuse marks it "y" (supported) and every later released version does
// too; where no run of full support reaches today, partial ("a") support is given, marked. JPEG has no caniuse feature (every browser decodes it).
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH || process.cwd(), "x.js"));
const lite = require("caniuse-lite");
const pkg = require("caniuse-lite/package.json");

const BROWSERS = ["chrome", "edge", "firefox", "safari"];
// codecbench format key -> caniuse feature.
const FORMATS = [
  ["webp", "webp"],
  ["avif", "avif"],
  ["jxl", "jpegxl"],
  ["jpeg2000", "jpeg2000"],
  ["png", "png-alpha"],
];

// Released versions in order (caniuse lists future versions with no release date).
function released(browser) {
  const a = lite.agents[browser];
  return a.versions.filter((v) => v && a.release_date[v]);
}

// The first version from which every later released version has a mark in `ok` (or null).
function firstOfRun(stats, browser, ok) {
  let first = null;
  for (const v of released(browser)) {
    const s = stats[browser][v] || "n";
    if (ok.some((m) => s.startsWith(m))) {
      if (first === null) first = v;
    } else {
      first = null;
    }
  }
  return first;
}

// Full support since, or partial support since (marked), or "no".
function since(stats, browser) {
  const full = firstOfRun(stats, browser, ["y"]);
  if (full !== null) return full;
  const partial = firstOfRun(stats, browser, ["y", "a"]);
  return partial === null ? "no" : `${partial} (partial)`;
}

const newest = Math.max(
  ...BROWSERS.flatMap((b) => Object.values(lite.agents[b].release_date).filter(Boolean)),
);
const asOf = new Date(newest * 1000).toISOString().slice(0, 10);
const source = `caniuse-lite ${pkg.version} (CC BY 4.0; newest release in the data ${asOf})`;

const rows = [["format", ...BROWSERS, "source"].join(",")];
rows.push(["jpeg", "1", "12", "1", "1", "\"every browser (no caniuse feature)\""].join(","));
for (const [key, feature] of FORMATS) {
  const data = lite.feature(require(`caniuse-lite/data/features/${feature}.js`));
  const cells = BROWSERS.map((b) => since(data.stats, b));
  rows.push([key, ...cells, `"${source}, feature ${feature}"`].join(","));
}
process.stdout.write(rows.join("\n") + "\n");

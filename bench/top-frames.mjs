// Prints the functions with the most self time in a V8 .cpuprofile: node bench/top-frames.mjs <file> [n]
import { readFileSync } from 'node:fs';

const [file, n = '25'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const dt = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const byFrame = new Map();
let total = 0;
for (const node of profile.nodes) {
  const t = dt.get(node.id) ?? 0;
  total += t;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/');
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  byFrame.set(key, (byFrame.get(key) ?? 0) + t);
}
const rows = [...byFrame.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
for (const [key, t] of rows) process.stdout.write(`${((100 * t) / total).toFixed(1).padStart(5)}%  ${key}\n`);

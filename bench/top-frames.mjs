// Where a V8 .cpuprofile spends its time: the functions with the most self time, self time per package
// (node_modules/<pkg>, node internals, our dist/ code) and total time under each package's frames.
//   node bench/top-frames.mjs <file> [n] [--last <seconds>]   (--last: only the profile's final seconds,
//   i.e. the load run without the start-up and seeding)
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const lastAt = args.indexOf('--last');
const lastUs = lastAt >= 0 ? Number(args.splice(lastAt, 2)[1]) * 1e6 : Infinity;
const [file, n = '25'] = args;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const packageOf = ({ url, functionName }) => {
  const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node (internal)';
  if (/\/dist\//.test(url)) return 'bridge (dist/)';
  return functionName.startsWith('(') ? functionName : `native: ${functionName}`;
};
const frameOf = ({ functionName, url, lineNumber }) =>
  `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')}:${lineNumber + 1}`;

const times = [];
let t = profile.startTime;
for (const delta of profile.timeDeltas) times.push((t += delta));
const from = Math.max(profile.startTime, profile.endTime - lastUs);

const self = new Map();
const selfPkg = new Map();
const totalPkg = new Map();
let total = 0;
const add = (map, key, v) => map.set(key, (map.get(key) ?? 0) + v);
for (let i = 0; i < profile.samples.length; i++) {
  if (times[i] < from) continue;
  const v = profile.timeDeltas[i + 1] ?? 0;
  const leaf = nodes.get(profile.samples[i]);
  total += v;
  add(self, frameOf(leaf.callFrame), v);
  add(selfPkg, packageOf(leaf.callFrame), v);
  const seen = new Set();
  for (let id = leaf.id; id !== undefined; id = parent.get(id)) seen.add(packageOf(nodes.get(id).callFrame));
  for (const pkg of seen) add(totalPkg, pkg, v);
}
const print = (title, map, count) => {
  process.stdout.write(`${title}\n`);
  for (const [key, v] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, count))
    process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${key}\n`);
};
process.stdout.write(`${(total / 1e6).toFixed(1)} s profiled\n`);
print('Self time by function:', self, Number(n));
print('\nSelf time by package:', selfPkg, 20);
print('\nTotal time under each package (inclusive):', totalPkg, 25);

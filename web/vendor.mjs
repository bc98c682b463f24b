// Copies the few files the dashboard needs from web/node_modules into crates/web/assets/vendor,
// with each package's licence, and writes SOURCES.md. No dependencies: run with plain node.
//   cd web && npm ci && node vendor.mjs          # write
//   node vendor.mjs --check                      # exit 1 when the committed files differ
// The output depends only on the pinned packages, so a rerun leaves `git status` clean.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, 'node_modules');
const out = join(here, '..', 'crates', 'web', 'assets', 'vendor');

// Classic (UMD) builds: served as plain <script src> files, they need no import map (an inline
// import map would need 'unsafe-inline' under the page's CSP). supercluster's build bundles kdbush.
const PACKAGES = [
  { name: 'leaflet', files: ['dist/leaflet.js', 'dist/leaflet.css'] },
  { name: 'supercluster', files: ['dist/supercluster.min.js'] },
  { name: 'kdbush', files: [], note: 'bundled inside supercluster/supercluster.min.js' },
  { name: 'topojson-client', files: ['dist/topojson-client.min.js'] },
  { name: 'uplot', files: ['dist/uPlot.iife.min.js', 'dist/uPlot.min.css'] },
  { name: 'world-atlas', files: ['countries-110m.json', 'countries-50m.json'], note: 'Natural Earth 1:110m and 1:50m admin-0 countries (public domain)' },
  { name: 'us-atlas', files: ['states-10m.json'], note: 'US Census Bureau cartographic boundaries 1:10m states (public domain)' },
];

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');
const base = (f) => f.split('/').pop();

function plan() {
  const files = new Map(); // path relative to out -> Buffer
  const rows = [];
  for (const p of PACKAGES) {
    const dir = join(modules, p.name);
    const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const licence = readFileSync(join(dir, 'LICENSE'));
    files.set(`${p.name}/LICENSE`, licence);
    const listed = [];
    for (const f of p.files) {
      const buf = readFileSync(join(dir, f));
      files.set(`${p.name}/${base(f)}`, buf);
      listed.push(`\`${base(f)}\` (from \`${f}\`, sha256 \`${sha256(buf)}\`)`);
    }
    rows.push(`## ${p.name} ${meta.version}\n\n- Licence: ${meta.license} (\`${p.name}/LICENSE\`)\n` +
      `- Source: npm \`${p.name}@${meta.version}\`${meta.homepage ? `, ${meta.homepage}` : ''}\n` +
      (p.note ? `- Note: ${p.note}\n` : '') +
      (listed.length ? `- Files:\n${listed.map((l) => `  - ${l}`).join('\n')}\n` : ''));
  }
  const md = '# Vendored front-end libraries\n\n' +
    'Written by `web/vendor.mjs` from the versions pinned in `web/package-lock.json`; do not edit.\n' +
    'Regenerate with `cd web && npm ci && node vendor.mjs`; `node vendor.mjs --check` verifies.\n\n' +
    'Map data: Natural Earth (public domain, https://www.naturalearthdata.com/) via world-atlas, and\n' +
    'US Census Bureau boundaries via us-atlas.\n\n' + rows.join('\n');
  files.set('SOURCES.md', Buffer.from(md));
  return files;
}

function listed(dir, prefix = '') {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listed(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]);
}

const files = plan();
if (process.argv.includes('--check')) {
  const bad = [];
  for (const [rel, buf] of files) {
    const p = join(out, rel);
    if (!existsSync(p) || !readFileSync(p).equals(buf)) bad.push(rel);
  }
  for (const rel of listed(out)) if (!files.has(rel)) bad.push(`${rel} (not produced by vendor.mjs)`);
  if (bad.length) {
    console.error(`vendored files differ from web/node_modules:\n  ${bad.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`vendor check ok: ${files.size} files`);
} else {
  rmSync(out, { recursive: true, force: true });
  for (const [rel, buf] of files) {
    mkdirSync(dirname(join(out, rel)), { recursive: true });
    writeFileSync(join(out, rel), buf);
  }
  console.log(`wrote ${files.size} files to ${out}`);
}

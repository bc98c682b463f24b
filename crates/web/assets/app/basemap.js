// The offline basemap: Natural Earth countries (world-atlas) and US states (us-atlas), drawn
// by Leaflet's canvas renderer under the orders. No tile server: everything is embedded.

const cache = new Map();
export function fetchJson(url) {
  if (!cache.has(url)) {
    cache.set(url, fetch(url, { credentials: 'same-origin' }).then((r) => {
      if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
      return r.json();
    }));
  }
  return cache.get(url);
}

// The coarse outline first (107 kB: the map is ready sooner), the finer one once idle.
const COUNTRIES_FAST = '/assets/vendor/world-atlas/countries-110m.json';
export const COUNTRIES = '/assets/vendor/world-atlas/countries-50m.json';
const STATES = '/assets/vendor/us-atlas/states-10m.json';

/** Starts the basemap downloads early (the map view calls addBasemap later). */
export function prefetchBasemap() {
  fetchJson(COUNTRIES_FAST).catch(() => {});
  fetchJson(STATES).catch(() => {});
}

const LAND_STYLE = { color: '#9aa6b5', weight: 0.8, fillColor: '#fbfbf8', fillOpacity: 1 };

/** The land: Natural Earth countries, rings across the antimeridian kept whole. */
export function countries(world, renderer) {
  const land = topojson.feature(world, world.objects.countries);
  unwrapAntimeridian(land);
  return L.geoJSON(land, { renderer, interactive: false, style: LAND_STYLE });
}

export async function addBasemap(map, { fast = false } = {}) {
  const renderer = L.canvas({ padding: 0.3 });
  const [world, us] = await Promise.all([fetchJson(fast ? COUNTRIES_FAST : COUNTRIES), fetchJson(STATES)]);
  const land = countries(world, renderer).addTo(map);
  performance.mark('waypost:basemap-parsed');
  if (fast) {
    const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 200));
    idle(() => fetchJson(COUNTRIES).then((fine) => {
      const better = countries(fine, renderer).addTo(map);
      better.bringToBack();
      land.remove();
    }).catch(() => { /* the coarse outline stays */ }));
  }
  const states = topojson.mesh(us, us.objects.states, (a, b) => a !== b);
  L.geoJSON(states, {
    renderer,
    interactive: false,
    style: { color: '#c0c7d1', weight: 0.6, fill: false },
  }).addTo(map);
  performance.mark('waypost:basemap-drawn');
  return renderer;
}

// Rings that cross the antimeridian (Russia's far east, Fiji) jump from +180 to -180; drawn
// as is they streak across the whole map. Shifting the western part by 360° keeps each ring
// contiguous (Leaflet draws it just east of +180).
function unwrapAntimeridian(fc) {
  const fixRing = (ring) => {
    let min = Infinity, max = -Infinity;
    for (const [lon] of ring) { if (lon < min) min = lon; if (lon > max) max = lon; }
    if (max - min > 180) for (const pt of ring) if (pt[0] < 0) pt[0] += 360;
  };
  for (const f of fc.features) {
    const g = f.geometry;
    if (!g) continue;
    if (g.type === 'Polygon') g.coordinates.forEach(fixRing);
    else if (g.type === 'MultiPolygon') g.coordinates.forEach((poly) => poly.forEach(fixRing));
  }
}

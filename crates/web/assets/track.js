// The tracking page's optional map: the latest location on the dashboard's offline basemap
// (its countries only). The page is complete without it (server-rendered); this only runs
// when the location has coordinates.
import { fetchJson, countries, COUNTRIES } from './app/basemap.js';

const node = document.getElementById('track-map');
const lat = parseFloat(node?.dataset.lat);
const lon = parseFloat(node?.dataset.lon);
if (node && window.L && window.topojson && Number.isFinite(lat) && Number.isFinite(lon)) {
  const map = L.map(node, { attributionControl: false, zoomControl: false, dragging: false, scrollWheelZoom: false, doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false, preferCanvas: true }).setView([lat, lon], 5);
  const renderer = L.canvas();
  fetchJson(COUNTRIES).then((world) => {
    countries(world, renderer).addTo(map);
    const brand = getComputedStyle(document.documentElement).getPropertyValue('--brand').trim() || '#1f4f8f';
    L.circleMarker([lat, lon], { renderer, radius: 9, color: '#ffffff', weight: 3, fillColor: brand, fillOpacity: 1, interactive: false }).addTo(map);
  }).catch(() => { node.hidden = true; });
}

// The tracking page's optional map: the latest location on the offline basemap. The page is
// complete without it (server-rendered); this only runs when the location has coordinates.
(function () {
  const node = document.getElementById('track-map');
  if (!node || !window.L || !window.topojson) return;
  const lat = parseFloat(node.dataset.lat);
  const lon = parseFloat(node.dataset.lon);
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) return;
  const map = L.map(node, { attributionControl: false, zoomControl: false, dragging: false, scrollWheelZoom: false, doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false, preferCanvas: true }).setView([lat, lon], 5);
  const renderer = L.canvas();
  fetch('/assets/vendor/world-atlas/countries-50m.json').then((r) => r.json()).then((world) => {
    L.geoJSON(topojson.feature(world, world.objects.countries), { renderer, interactive: false, style: { color: '#9aa6b5', weight: 0.8, fillColor: '#fbfbf8', fillOpacity: 1 } }).addTo(map);
    const brand = getComputedStyle(document.documentElement).getPropertyValue('--brand').trim() || '#1f4f8f';
    L.circleMarker([lat, lon], { renderer, radius: 9, color: '#ffffff', weight: 3, fillColor: brand, fillOpacity: 1, interactive: false }).addTo(map);
  }).catch(() => { node.hidden = true; });
})();

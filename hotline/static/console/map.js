// Providers on a map of Mali. Without a tile server (the default: the console works offline),
// the regional capitals are drawn as grey points so the providers can still be placed by eye.
(function () {
  "use strict";
  var element = document.getElementById("provider-map");
  if (!element || typeof L === "undefined") { return; }
  var markers = JSON.parse(document.getElementById("map-markers").textContent);
  var places = JSON.parse(document.getElementById("map-places").textContent);
  var map = L.map(element, { attributionControl: true }).fitBounds([[10.1, -12.3], [25.0, 4.3]]);
  var tiles = element.dataset.tiles;
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 18 }).addTo(map);
  }
  places.forEach(function (place) {
    L.circleMarker([place.lat, place.lng], { radius: 4, color: "#7a7a7a", weight: 1, fillOpacity: 0.6 })
      .bindTooltip(place.name, { permanent: true, direction: "right", className: "place-label" })
      .addTo(map);
  });
  var bounds = [];
  markers.forEach(function (provider) {
    var popup = document.createElement("div");
    var link = document.createElement("a");
    link.href = provider.url;
    link.textContent = provider.name;
    popup.appendChild(link);
    if (provider.beds !== null) {
      popup.appendChild(document.createElement("br"));
      popup.appendChild(document.createTextNode(provider.beds));
    }
    L.marker([provider.lat, provider.lng], { title: provider.name, opacity: provider.active ? 1 : 0.5 })
      .bindPopup(popup).addTo(map);
    bounds.push([provider.lat, provider.lng]);
  });
  if (bounds.length) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 9 }); }
  element.dataset.ready = String(markers.length);
})();

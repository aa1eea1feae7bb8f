// Item viewer: each slice's Deep Zoom pyramid placed at its offset in the episode's one coordinate
// space (world units are the item's width), so a 20,000 px strip is only ever fetched as tiles.
(function () {
  "use strict";
  var container = document.getElementById("viewer");
  var data = JSON.parse(document.getElementById("viewer-data").textContent);
  if (!data.slices.length || !window.OpenSeadragon) return;
  var unit = data.width || 1;
  var viewer = OpenSeadragon({
    element: container,
    prefixUrl: container.dataset.prefixUrl,
    showNavigator: true,
    navigatorPosition: "TOP_RIGHT",
    visibilityRatio: 0.2,
    minZoomImageRatio: 0.5,
    maxZoomPixelRatio: 4,
    preserveViewport: true,
    drawer: "canvas",  // WebGL falls back to software without a GPU and delays the first tile by seconds
    tileSources: data.slices.map(function (slice) {
      return { tileSource: slice.dzi, x: 0, y: slice.offset_y / unit, width: slice.width / unit };
    }),
  });
  viewer.addHandler("open", function () {
    // Start at the top of the strip, fitted to its width: the reading position of a webtoon.
    var top = new OpenSeadragon.Rect(0, 0, 1, Math.min(data.height / unit, container.clientHeight / container.clientWidth));
    viewer.viewport.fitBounds(top, true);
    container.dataset.opened = "true";
  });
  viewer.addHandler("tile-loaded", function () {
    container.dataset.tilesLoaded = String(Number(container.dataset.tilesLoaded || 0) + 1);
  });
  window.atelierViewer = viewer;
})();

// Item viewer: each slice's Deep Zoom pyramid placed at its offset in the episode's one coordinate
// space (world units are the item's width), so a 20,000 px strip is only ever fetched as tiles.
// OpenSeadragon is the vendored classic script the page loads before this module.
const container = document.getElementById("viewer");
const data = JSON.parse(document.getElementById("viewer-data").textContent);
const unit = data.width || 1;

function openViewer() {
  const viewer = OpenSeadragon({
    element: container,
    prefixUrl: container.dataset.prefixUrl,
    showNavigator: true,
    navigatorPosition: "TOP_RIGHT",
    showNavigationControl: false,  // the page's buttons: OpenSeadragon's are 16 images fetched before the first tile
    visibilityRatio: 0.2,
    minZoomImageRatio: 0.5,
    maxZoomPixelRatio: 4,
    preserveViewport: true,
    drawer: "canvas",  // WebGL falls back to software without a GPU and delays the first tile by seconds
    tileSources: data.slices.map((slice) => ({ tileSource: slice.dzi, x: 0, y: slice.offset_y / unit, width: slice.width / unit })),
  });
  function fitWidthAtTop(immediately) {
    // The top of the strip, fitted to its width: the reading position of a webtoon.
    const top = new OpenSeadragon.Rect(0, 0, 1, Math.min(data.height / unit, container.clientHeight / container.clientWidth));
    viewer.viewport.fitBounds(top, immediately);
  }
  viewer.addHandler("open", () => {
    fitWidthAtTop(true);
    container.dataset.opened = "true";
  });
  document.getElementById("zoom-in").addEventListener("click", () => viewer.viewport.zoomBy(1.25));
  document.getElementById("zoom-out").addEventListener("click", () => viewer.viewport.zoomBy(0.8));
  document.getElementById("zoom-fit").addEventListener("click", () => fitWidthAtTop(false));
  viewer.addHandler("tile-loaded", () => {
    container.dataset.tilesLoaded = String(Number(container.dataset.tilesLoaded || 0) + 1);
  });
  window.atelierViewer = viewer;  // for the browser tests and the console
}

if (data.slices.length && window.OpenSeadragon) openViewer();

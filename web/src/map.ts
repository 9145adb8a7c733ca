// The map: base and POI vector tiles through the gateway's /tiles (OpenStreetMap
// attribution), the start and end markers, and a walk's line with numbered stops.
import maplibregl, { type GeoJSONSource, type StyleSpecification } from "maplibre-gl";

type Shape = Parameters<GeoJSONSource["setData"]>[0];
import type { Place, Route, RoutePoint } from "./api";
import { stopsOf } from "./stops";

const OSM = "© OpenStreetMap contributors";
const DEMO_CENTRE: [number, number] = [24.9522, 60.1695]; // Helsinki centre, the demo extract

const tiles = (source: string) => `${location.origin}/tiles/${source}/{z}/{x}/{y}`;
const style: StyleSpecification = {
  version: 8,
  sources: {
    base: { type: "vector", tiles: [tiles("get_base_tile")], minzoom: 0, maxzoom: 18, attribution: OSM },
    pois: { type: "vector", tiles: [tiles("get_poi_tile")], minzoom: 0, maxzoom: 18, attribution: OSM },
    route: { type: "geojson", data: { type: "FeatureCollection", features: [] } },
  },
  layers: [
    { id: "background", type: "background", paint: { "background-color": "#f4f1ea" } },
    {
      id: "streets-major", type: "line", source: "base", "source-layer": "streets",
      filter: ["==", ["get", "class"], "major"], paint: { "line-color": "#c9b48a", "line-width": 3 },
    },
    {
      id: "streets", type: "line", source: "base", "source-layer": "streets",
      filter: ["!=", ["get", "class"], "major"], paint: { "line-color": "#d8d2c4", "line-width": 1.5 },
    },
    {
      id: "pois", type: "circle", source: "pois", "source-layer": "pois",
      paint: { "circle-radius": 3, "circle-color": "#8e44ad", "circle-opacity": 0.7 },
    },
    {
      id: "route-line", type: "line", source: "route",
      paint: { "line-color": "#1565c0", "line-width": 5, "line-opacity": 0.85 },
      layout: { "line-cap": "round", "line-join": "round" },
    },
  ],
};

export type End = "start" | "end";

export class WalkMap {
  readonly map: maplibregl.Map;
  private readonly ends: Partial<Record<End, maplibregl.Marker>> = {};
  private stops: maplibregl.Marker[] = [];

  constructor(container: string) {
    this.map = new maplibregl.Map({
      container,
      style,
      center: DEMO_CENTRE,
      zoom: 14,
      attributionControl: { compact: false, customAttribution: OSM },
    });
    this.map.addControl(new maplibregl.NavigationControl(), "top-right");
  }

  centre(): Place {
    const { lat, lng } = this.map.getCenter();
    return { lat, lng };
  }

  /** Mark the start or the end (null: no marker). The list beside the map names them. */
  mark(which: End, place: Place | null): void {
    this.ends[which]?.remove();
    delete this.ends[which];
    if (!place) return;
    const element = marker(`${which}-marker`, which === "start" ? "S" : "E");
    this.ends[which] = new maplibregl.Marker({ element }).setLngLat([place.lng, place.lat]).addTo(this.map);
  }

  /** Draw a walk; a tap on a stop's marker opens it (as its button in the list does). */
  draw(route: Route, open: (stop: RoutePoint, number: number) => void): void {
    this.line({ type: "Feature", properties: {}, geometry: route.geometry });
    for (const stop of this.stops) stop.remove();
    this.stops = stopsOf(route).map((stop, index) => {
      const element = marker("stop-marker", String(index + 1));
      element.addEventListener("click", (event) => {
        event.stopPropagation(); // not a tap on the map: the start stays where it is
        open(stop, index + 1);
      });
      return new maplibregl.Marker({ element }).setLngLat([stop.lng, stop.lat]).addTo(this.map);
    });
    const bounds = new maplibregl.LngLatBounds();
    for (const [lng, lat] of route.geometry.coordinates) bounds.extend([lng, lat]);
    if (!bounds.isEmpty()) this.map.fitBounds(bounds, { padding: 40, duration: 0 });
  }

  clear(): void {
    for (const stop of this.stops) stop.remove();
    this.stops = [];
    this.mark("start", null);
    this.mark("end", null);
    this.line({ type: "FeatureCollection", features: [] });
  }

  private line(data: Shape): void {
    (this.map.getSource("route") as GeoJSONSource | undefined)?.setData(data);
  }
}

// Markers are pictures of what the page's lists say in words: hidden from screen readers.
function marker(className: string, text: string): HTMLElement {
  const element = document.createElement("div");
  element.className = className;
  element.textContent = text;
  element.setAttribute("aria-hidden", "true");
  return element;
}

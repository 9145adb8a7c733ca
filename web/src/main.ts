// The Wildside web client: log in, choose themes and a duration, tap the start, ask for a
// walk, follow its progress over /ws, see it drawn with its stops, save it, log out.
import maplibregl, { type GeoJSONSource, type StyleSpecification } from "maplibre-gl";
import "./style.css";
import { api, ApiError, type Profile, type Route, type RouteState } from "./api";
import { StatusSocket, type StatusEvent } from "./socket";
import { forgetOffline, registerOffline } from "./offline";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const OSM = "© OpenStreetMap contributors";
const DEMO_CENTRE: [number, number] = [24.9522, 60.1695]; // Helsinki centre, the demo extract

const state = {
  profile: null as Profile | null,
  start: null as { lat: number; lng: number } | null,
  requestId: null as string | null,
  route: null as Route | null,
  markers: [] as maplibregl.Marker[],
  startMarker: null as maplibregl.Marker | null,
};

function show(id: string, visible: boolean): void {
  $(id).hidden = !visible;
}

function say(text: string): void {
  $("status").textContent = text;
}

function fail(error: unknown): void {
  const box = $("error");
  box.textContent = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function clearError(): void {
  $("error").hidden = true;
  $("error").textContent = "";
}

// ---- the map --------------------------------------------------------------------------

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

const map = new maplibregl.Map({
  container: "map",
  style,
  center: DEMO_CENTRE,
  zoom: 14,
  attributionControl: { compact: false, customAttribution: OSM },
});
map.addControl(new maplibregl.NavigationControl(), "top-right");
(window as unknown as { wildsideMap: maplibregl.Map }).wildsideMap = map;

function setStart(lat: number, lng: number): void {
  state.start = { lat, lng };
  $("start-text").textContent = `${lat.toFixed(5)}, ${lng.toFixed(5)}`;
  const element = document.createElement("div");
  element.className = "start-marker";
  element.setAttribute("aria-label", "Start");
  state.startMarker?.remove();
  state.startMarker = new maplibregl.Marker({ element }).setLngLat([lng, lat]).addTo(map);
  say("Start chosen.");
}

map.on("click", (event) => {
  if (!$("plan").hidden) setStart(event.lngLat.lat, event.lngLat.lng);
});

function drawRoute(route: Route): void {
  (map.getSource("route") as GeoJSONSource | undefined)?.setData({
    type: "Feature", properties: {}, geometry: route.geometry,
  });
  for (const marker of state.markers) marker.remove();
  state.markers = [];
  const list = $("stops");
  list.replaceChildren();
  let number = 0;
  for (const point of route.points) {
    if (!point.osm) continue;
    number += 1;
    const element = document.createElement("div");
    element.className = "stop-marker";
    element.textContent = String(number);
    element.setAttribute("aria-label", `Stop ${number}: ${point.name ?? "unnamed"}`);
    state.markers.push(new maplibregl.Marker({ element }).setLngLat([point.lng, point.lat]).addTo(map));
    const item = document.createElement("li");
    const arrival = point.arrival_minutes === undefined ? "" : `, arrive after ${Math.round(point.arrival_minutes)} min`;
    const themes = (point.themes ?? []).join(", ");
    item.textContent = `${point.name ?? "Unnamed place"}${themes ? ` (${themes})` : ""}${arrival}`;
    list.append(item);
  }
  const bounds = new maplibregl.LngLatBounds();
  for (const [lng, lat] of route.geometry.coordinates) bounds.extend([lng, lat]);
  if (!bounds.isEmpty()) map.fitBounds(bounds, { padding: 40, duration: 0 });
  $("walk-summary").textContent =
    `${(route.distance_m / 1000).toFixed(1)} km, about ${Math.round(route.duration_minutes)} minutes, ${number} stops.`;
  show("walk", true);
}

// ---- progress over /ws ----------------------------------------------------------------

function setProgress(progress: number): void {
  ($("progress") as HTMLProgressElement).value = progress;
  $("progress-text").textContent = `${progress}%`;
}

async function finished(event: StatusEvent | RouteState): Promise<void> {
  if (event.request_id !== state.requestId) return;
  socket.unsubscribe(event.request_id);
  show("progress-box", false);
  $<HTMLButtonElement>("ask").disabled = false;
  if (event.status === "succeeded") {
    const answer = await api.route(event.request_id);
    if (answer.route) {
      state.route = answer.route;
      drawRoute(answer.route);
      say("Your walk is ready.");
    }
  } else if (event.status === "failed") {
    fail(`No walk could be made: ${event.error ?? "unknown reason"}.`);
  } else {
    say("Walk cancelled.");
  }
}

const socket = new StatusSocket({
  status: (event) => {
    if (event.request_id !== state.requestId) return;
    setProgress(event.progress);
    if (["succeeded", "failed", "cancelled"].includes(event.status)) void finished(event).catch(fail);
  },
  error: (message) => fail(message),
  connection: (up) => {
    $("progress-box").dataset.connected = String(up);
    if (!up && !$("progress-box").hidden) say("Connection lost; reconnecting…");
    else if (up && state.requestId && !$("progress-box").hidden) say("Reconnected.");
  },
});

(window as unknown as { wildsideSocket: StatusSocket }).wildsideSocket = socket;

// ---- the walker's steps ---------------------------------------------------------------

async function signedIn(profile: Profile): Promise<void> {
  state.profile = profile;
  $("who").textContent = `Signed in as ${profile.display_name}`;
  show("who", true);
  show("logout", true);
  show("auth", false);
  show("plan", true);
  show("saved", true);
  const { data } = await api.themes();
  const box = $("themes");
  box.querySelectorAll("label").forEach((label) => label.remove());
  for (const theme of data) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "checkbox";
    input.name = "theme";
    input.value = theme.id;
    input.checked = profile.interest_theme_ids.includes(theme.id);
    label.append(input, ` ${theme.name}`);
    label.title = theme.description;
    box.append(label);
  }
  socket.open();
  await listSaved();
  say(`Welcome, ${profile.display_name}. Choose themes, a duration and tap the start on the map.`);
}

function signedOut(): void {
  socket.close();
  state.profile = null;
  state.requestId = null;
  state.route = null;
  for (const marker of state.markers) marker.remove();
  state.startMarker?.remove();
  (map.getSource("route") as GeoJSONSource | undefined)?.setData({ type: "FeatureCollection", features: [] });
  for (const id of ["who", "logout", "plan", "progress-box", "walk", "saved"]) show(id, false);
  show("auth", true);
}

async function ask(seed: number): Promise<void> {
  clearError();
  if (!state.start) {
    fail("Tap the map (or use your location) to choose where the walk starts.");
    return;
  }
  const themes = [...document.querySelectorAll<HTMLInputElement>("input[name=theme]:checked")].map((i) => i.value);
  const duration = Number(($("duration") as HTMLInputElement).value);
  const profile = state.profile;
  const known = profile ? [...profile.interest_theme_ids].sort().join(",") : "";
  if (profile && known !== [...themes].sort().join(",")) {
    try {
      state.profile = await api.setInterests(themes, profile.revision);
    } catch (error) {
      // Changed elsewhere (another tab): read them again; the walk uses this page's choice.
      if (!(error instanceof ApiError && error.status === 409)) throw error;
      state.profile = await api.me();
    }
  }
  const { request_id } = await api.ask(state.start, duration, themes, seed);
  state.requestId = request_id;
  show("walk", false);
  setProgress(0);
  show("progress-box", true);
  $<HTMLButtonElement>("ask").disabled = true;
  say("Looking for your walk…");
  socket.subscribe(request_id);
  // The socket may be down: the request's state is also read once directly.
  const current = await api.route(request_id);
  if (["succeeded", "failed", "cancelled"].includes(current.status)) await finished(current);
}

async function listSaved(): Promise<void> {
  const { data } = await api.saved();
  const list = $("saved-list");
  list.replaceChildren();
  for (const walk of data) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = walk.name;
    button.addEventListener("click", () => {
      void api.savedRoute(walk.id).then((saved) => {
        state.route = saved.route;
        state.requestId = saved.request_id;
        drawRoute(saved.route);
        say(`Showing ${walk.name}.`);
      }).catch(fail);
    });
    item.append(button);
    list.append(item);
  }
  if (data.length === 0) list.append(Object.assign(document.createElement("li"), { textContent: "No saved walks yet." }));
}

function guard(task: () => Promise<void>): (event?: Event) => void {
  return (event) => {
    event?.preventDefault();
    clearError();
    task().catch((error) => {
      if (error instanceof ApiError && error.status === 401) signedOut();
      if (error instanceof ApiError && error.status === 429) {
        show("progress-box", false);
        $<HTMLButtonElement>("ask").disabled = false;
      }
      fail(error);
    });
  };
}

const value = (id: string) => ($(id) as HTMLInputElement).value;

$("login-form").addEventListener("submit", guard(async () => {
  await signedIn(await api.login(value("login-username"), value("login-password")));
}));
$("signup-form").addEventListener("submit", guard(async () => {
  await api.signUp(value("signup-username"), value("signup-password"), value("signup-display"));
  await signedIn(await api.login(value("signup-username"), value("signup-password")));
}));
$("plan-form").addEventListener("submit", guard(() => ask(0)));
$("another").addEventListener("click", guard(() => ask(1 + Math.floor(Math.random() * 2_000_000_000))));
$("cancel").addEventListener("click", guard(async () => {
  if (!state.requestId) return;
  if (!socket.cancel(state.requestId)) await api.cancel(state.requestId);
  say("Cancelling…");
}));
$("save-form").addEventListener("submit", guard(async () => {
  if (!state.requestId) return;
  const saved = await api.save(state.requestId, value("save-name").trim());
  say(`Saved as ${saved.name}.`);
  await listSaved();
}));
$("logout").addEventListener("click", guard(async () => {
  await api.logout();
  await forgetOffline();
  signedOut();
  say("Logged out.");
}));
$("locate").addEventListener("click", () => {
  if (!navigator.geolocation) return fail("This browser cannot tell its location; tap the map instead.");
  navigator.geolocation.getCurrentPosition(
    (position) => {
      setStart(position.coords.latitude, position.coords.longitude);
      map.jumpTo({ center: [position.coords.longitude, position.coords.latitude] });
    },
    () => fail("Your location is not available; tap the map instead."),
  );
});

registerOffline();
// A session that is still valid skips the login form.
api.me().then(signedIn).catch(() => signedOut());

// The Wildside web client: sign up or log in, choose themes and a duration, choose the
// start (and an end) on the map, ask for a walk, follow its progress over /ws, see it drawn
// with its stops and their details, save it, open saved and recent walks, log out, leave.
// Every action is a button or a form: the keyboard reaches all of them.
import "./style.css";
import { api, ApiError, type Place, type Profile, type RequestSummary, type Route, type RoutePoint, type RouteState,
  type SavedSummary } from "./api";
import { renderRecent, renderSaved } from "./lists";
import { type End, WalkMap } from "./map";
import { StatusSocket, type StatusEvent } from "./socket";
import { forgetOffline, registerOffline } from "./offline";
import { poiId, renderDetails, renderStops } from "./stops";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const value = (id: string) => $<HTMLInputElement>(id).value;
const DONE = ["succeeded", "failed", "cancelled"];

const state = {
  profile: null as Profile | null,
  start: null as Place | null,
  end: null as Place | null,
  requestId: null as string | null,
  route: null as Route | null,
};

function show(id: string, visible: boolean): void {
  $(id).hidden = !visible;
}

function say(text: string): void {
  $("status").textContent = text;
}

function fail(error: unknown): void {
  const box = $("error");
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function clearError(): void {
  $("error").hidden = true;
  $("error").textContent = "";
}

/** Move the keyboard's place to a section's heading (it has tabindex=-1). */
function focusOn(id: string): void {
  $(id).focus();
}

// ---- the map --------------------------------------------------------------------------

const walkMap = new WalkMap("map");
(window as unknown as { wildsideMap: unknown }).wildsideMap = walkMap.map;

function choose(which: End, place: Place | null): void {
  state[which] = place;
  walkMap.mark(which, place);
  const text = place ? `${place.lat.toFixed(5)}, ${place.lng.toFixed(5)}` : "back at the start";
  $(`${which}-text`).textContent = text;
  say(place ? `${which === "start" ? "Start" : "End"} chosen.` : "The walk ends back at the start.");
}

walkMap.map.on("click", (event) => {
  if ($("plan").hidden) return;
  const which = document.querySelector<HTMLInputElement>("input[name=tap]:checked")?.value as End;
  choose(which ?? "start", { lat: event.lngLat.lat, lng: event.lngLat.lng });
});

let openedStop = 1;

function openStop(stop: RoutePoint, number: number): void {
  api.poi(poiId(stop.osm ?? "")).then((detail) => {
    renderDetails(detail, stop, number);
    openedStop = number;
    show("stop-details", true);
    focusOn("stop-title");
  }).catch(fail);
}

function showWalk(route: Route, requestId: string): void {
  state.route = route;
  state.requestId = requestId;
  walkMap.draw(route, openStop);
  renderStops($("stops"), route, openStop);
  const count = $("stops").querySelectorAll("button").length;
  $("walk-summary").textContent =
    `${(route.distance_m / 1000).toFixed(1)} km, about ${Math.round(route.duration_minutes)} minutes, ${count} stops.`;
  show("stop-details", false);
  show("walk", true);
}

// ---- progress over /ws ----------------------------------------------------------------

function setProgress(progress: number): void {
  $<HTMLProgressElement>("progress").value = progress;
  $("progress-text").textContent = `${progress}%`;
}

function asking(busy: boolean): void {
  show("progress-box", busy);
  $<HTMLButtonElement>("ask").disabled = busy;
  $<HTMLButtonElement>("another").disabled = busy;
}

async function finished(event: StatusEvent | RouteState): Promise<void> {
  if (event.request_id !== state.requestId) return;
  socket.unsubscribe(event.request_id);
  asking(false);
  if (event.status === "succeeded") {
    const answer = await api.route(event.request_id);
    if (answer.route) {
      showWalk(answer.route, event.request_id);
      say("Your walk is ready.");
      focusOn("walk-title");
    }
  } else if (event.status === "failed") {
    fail(`No walk could be made: ${event.error ?? "unknown reason"}.`);
    focusOn("plan-title");
  } else {
    say("Walk cancelled.");
    focusOn("plan-title");
  }
  await listRecent();
}

const socket = new StatusSocket({
  status: (event) => {
    if (event.request_id !== state.requestId) return;
    setProgress(event.progress);
    if (DONE.includes(event.status)) void finished(event).catch(fail);
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

const SIGNED_IN = ["who", "logout", "plan", "saved", "recent", "account"];

async function signedIn(profile: Profile): Promise<void> {
  state.profile = profile;
  $("who").textContent = `Signed in as ${profile.display_name}`;
  for (const id of SIGNED_IN) show(id, true);
  show("auth", false);
  const { data } = await api.themes();
  const box = $("themes");
  box.querySelectorAll("label").forEach((label) => label.remove());
  for (const theme of data) {
    const label = document.createElement("label");
    const input = Object.assign(document.createElement("input"), { type: "checkbox", name: "theme", value: theme.id });
    input.checked = profile.interest_theme_ids.includes(theme.id);
    label.append(input, ` ${theme.name}`);
    label.title = theme.description;
    box.append(label);
  }
  socket.open();
  // Either list may be unreachable (offline: the recent walks are not kept); the other
  // still shows, and the failure is said in words.
  const lists = await Promise.allSettled([listSaved(), listRecent()]);
  const failed = lists.find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed) fail(failed.reason);
  say(`Welcome, ${profile.display_name}. Choose themes, a duration and the start on the map.`);
  focusOn("plan-title");
}

function signedOut(): void {
  socket.close();
  Object.assign(state, { profile: null, start: null, end: null, requestId: null, route: null });
  walkMap.clear();
  for (const id of [...SIGNED_IN, "progress-box", "walk", "stop-details"]) show(id, false);
  $("start-text").textContent = "tap the map to choose it";
  $("end-text").textContent = "back at the start";
  show("auth", true);
}

/** Save the themes chosen on the page to the profile when they changed. */
async function saveThemes(themes: string[]): Promise<void> {
  const profile = state.profile;
  if (!profile || [...profile.interest_theme_ids].sort().join() === [...themes].sort().join()) return;
  try {
    state.profile = await api.setInterests(themes, profile.revision);
  } catch (error) {
    // Changed elsewhere (another tab): read them again; the walk uses this page's choice.
    if (!(error instanceof ApiError && error.status === 409)) throw error;
    state.profile = await api.me();
  }
}

async function ask(seed: number): Promise<void> {
  if (!state.start) {
    fail("Choose where the walk starts: tap the map, or use the map centre or your location.");
    focusOn("plan-title");
    return;
  }
  const themes = [...document.querySelectorAll<HTMLInputElement>("input[name=theme]:checked")].map((i) => i.value);
  await saveThemes(themes);
  const { request_id } = await api.ask(state.start, state.end, Number(value("duration")), themes, seed);
  state.requestId = request_id;
  show("walk", false);
  show("stop-details", false);
  setProgress(0);
  asking(true);
  say("Looking for your walk…");
  focusOn("progress-title");
  socket.subscribe(request_id);
  // The socket may be down: the request's state is also read once directly.
  const current = await api.route(request_id);
  if (DONE.includes(current.status)) await finished(current);
}

async function listSaved(): Promise<void> {
  const { data } = await api.saved();
  renderSaved($("saved-list"), data, (walk) => run(() => openSaved(walk)), (walk) => run(() => deleteSaved(walk)));
}

async function openSaved(walk: SavedSummary): Promise<void> {
  const saved = await api.savedRoute(walk.id);
  showWalk(saved.route, saved.request_id);
  say(`Showing ${walk.name}.`);
  focusOn("walk-title");
}

async function deleteSaved(walk: SavedSummary): Promise<void> {
  await api.deleteSaved(walk.id);
  await listSaved();
  say(`Deleted ${walk.name}.`);
  focusOn("saved-title");
}

async function listRecent(): Promise<void> {
  const { data } = await api.recent();
  renderRecent($("recent-list"), data, (walk) => run(() => openRecent(walk)));
}

async function openRecent(walk: RequestSummary): Promise<void> {
  const answer = await api.route(walk.request_id);
  if (!answer.route) throw new Error("That walk has no route (it was not finished).");
  showWalk(answer.route, walk.request_id);
  say("Showing a recent walk.");
  focusOn("walk-title");
}

/** Run an action: errors in words; a lost session back to the login form. */
function run(task: () => Promise<void>): void {
  clearError();
  task().catch((error) => {
    if (error instanceof ApiError && error.status === 401) signedOut();
    if (error instanceof ApiError && error.status === 429) asking(false);
    fail(error);
  });
}

const on = (id: string, event: string, task: () => Promise<void>) =>
  $(id).addEventListener(event, (e) => {
    e.preventDefault();
    run(task);
  });

on("login-form", "submit", async () => signedIn(await api.login(value("login-username"), value("login-password"))));
on("signup-form", "submit", async () => {
  const profile = await api.signUp(value("signup-username"), value("signup-password"), value("signup-display"));
  await signedIn(profile); // signing up logs in
});
on("plan-form", "submit", () => ask(0));
on("another", "click", () => ask(1 + Math.floor(Math.random() * 2_000_000_000)));
on("cancel", "click", async () => {
  if (!state.requestId) return;
  if (!socket.cancel(state.requestId)) await api.cancel(state.requestId);
  say("Cancelling…");
});
on("save-form", "submit", async () => {
  if (!state.requestId) return;
  const saved = await api.save(state.requestId, value("save-name").trim());
  say(`Saved as ${saved.name}.`);
  await listSaved();
});
on("stop-close", "click", async () => {
  show("stop-details", false);
  $("stops").querySelectorAll("button")[openedStop - 1]?.focus();
});
on("centre-start", "click", async () => choose("start", walkMap.centre()));
on("centre-end", "click", async () => choose("end", walkMap.centre()));
on("clear-end", "click", async () => choose("end", null));
on("logout", "click", async () => {
  await api.logout();
  await forgetOffline();
  signedOut();
  say("Logged out.");
  focusOn("auth-title");
});
on("leave-form", "submit", async () => {
  await api.leave(value("leave-password"));
  $<HTMLInputElement>("leave-password").value = "";
  signedOut();
  say("Your account and everything in it are deleted.");
  focusOn("auth-title");
});
on("locate", "click", async () => {
  if (!navigator.geolocation) throw new Error("This browser cannot tell its location; use the map instead.");
  const position = await new Promise<GeolocationPosition>((resolve, reject) =>
    navigator.geolocation.getCurrentPosition(resolve, () =>
      reject(new Error("Your location is not available; use the map instead."))));
  choose("start", { lat: position.coords.latitude, lng: position.coords.longitude });
  walkMap.map.jumpTo({ center: [position.coords.longitude, position.coords.latitude] });
});

registerOffline();
// A session that is still valid skips the login form.
api.me().then(signedIn).catch(() => signedOut());

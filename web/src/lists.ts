// The walker's saved walks (GET /api/v1/saved-routes) and recent walks (GET /api/v1/routes):
// each entry a button that opens it; a saved one also a button that deletes it.
import type { RequestSummary, SavedSummary } from "./api";

function button(text: string, label: string, action: () => void): HTMLButtonElement {
  const element = Object.assign(document.createElement("button"), { type: "button", textContent: text });
  element.setAttribute("aria-label", label);
  element.addEventListener("click", action);
  return element;
}

function fill(list: HTMLElement, items: HTMLElement[][], empty: string): void {
  list.replaceChildren();
  for (const children of items) {
    const item = document.createElement("li");
    item.append(...children);
    list.append(item);
  }
  if (items.length === 0) list.append(Object.assign(document.createElement("li"), { textContent: empty }));
}

export function renderSaved(
  list: HTMLElement,
  walks: SavedSummary[],
  open: (walk: SavedSummary) => void,
  remove: (walk: SavedSummary) => void,
): void {
  const items = walks.map((walk) => [
    button(walk.name, `Open ${walk.name}`, () => open(walk)),
    button("Delete", `Delete ${walk.name}`, () => remove(walk)),
  ]);
  fill(list, items, "No saved walks yet.");
}

const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

/** "14:05: 3.2 km, 5 stops (history, art)"; a walk that is not done says its status. */
export function recentLabel(walk: RequestSummary): string {
  const { distance_m, stops, themes, duration_minutes } = walk.summary;
  const what = walk.status === "succeeded" && distance_m !== null
    ? `${(distance_m / 1000).toFixed(1)} km, ${stops ?? 0} stops`
    : `${duration_minutes} min, ${walk.status}`;
  return `${time(walk.created_at)}: ${what}${themes.length ? ` (${themes.join(", ")})` : ""}`;
}

export function renderRecent(list: HTMLElement, walks: RequestSummary[], open: (walk: RequestSummary) => void): void {
  const items = walks.map((walk) => {
    const label = recentLabel(walk);
    const entry = button(label, `Open the walk of ${label}`, () => open(walk));
    entry.disabled = walk.status !== "succeeded";
    return [entry];
  });
  fill(list, items, "No walks in the last 24 hours.");
}

// A walk's stops: the list (one button per stop) and the details of one stop, read from
// GET /api/v1/pois/{id}.
import type { PoiDetail, Route, RoutePoint } from "./api";

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text = "") =>
  Object.assign(document.createElement(tag), { textContent: text });

/** A route's place ("node/123") as the places API names it ("n123"). */
export function poiId(osm: string): string {
  const [type, id] = osm.split("/");
  return `${type.charAt(0)}${id}`;
}

/** The places a walk visits (its start and end are not stops). */
export function stopsOf(route: Route): RoutePoint[] {
  return route.points.filter((point) => point.osm);
}

function minutes(value: number | undefined): string {
  return value === undefined ? "" : `${Math.round(value)} min`;
}

/** One line per stop: name, themes, dwell and arrival, as a button that opens its details. */
export function renderStops(list: HTMLElement, route: Route, open: (stop: RoutePoint, number: number) => void): void {
  list.replaceChildren();
  stopsOf(route).forEach((stop, index) => {
    const number = index + 1;
    const button = el("button");
    button.type = "button";
    button.className = "stop";
    const themes = (stop.themes ?? []).join(", ");
    const facts = [
      themes,
      stop.dwell_minutes === undefined ? "" : `stay ${minutes(stop.dwell_minutes)}`,
      stop.arrival_minutes === undefined ? "" : `arrive after ${minutes(stop.arrival_minutes)}`,
    ].filter(Boolean);
    button.append(el("strong", stop.name || "Unnamed place"), el("span", facts.join(" · ")));
    button.addEventListener("click", () => open(stop, number));
    const item = el("li");
    item.append(button);
    list.append(item);
  });
}

function address(detail: PoiDetail): string {
  const a = detail.tags.address;
  if (!a) return "";
  const street = [a.street, a.housenumber].filter(Boolean).join(" ");
  return [street, [a.postcode, a.city].filter(Boolean).join(" ")].filter(Boolean).join(", ");
}

/** Fill the details panel of a stop. */
export function renderDetails(detail: PoiDetail, stop: RoutePoint, number: number): void {
  const title = document.getElementById("stop-title") as HTMLElement;
  title.textContent = `Stop ${number}: ${detail.name ?? stop.name ?? "Unnamed place"}`;
  const facts: [string, string][] = [
    ["Themes", (detail.themes.length ? detail.themes : stop.themes ?? []).join(", ")],
    ["Stay", minutes(stop.dwell_minutes)],
    ["Arrive after", minutes(stop.arrival_minutes)],
    ["Address", address(detail)],
    ["Opening hours", detail.tags.opening_hours ?? ""],
    ["Wheelchair", detail.tags.wheelchair ?? ""],
    ["Wikipedia", detail.tags.wikipedia ?? ""],
  ];
  const list = document.getElementById("stop-facts") as HTMLElement;
  list.replaceChildren();
  for (const [term, value] of facts) {
    if (value) list.append(el("dt", term), el("dd", value));
  }
  const website = detail.tags.website ?? "";
  if (/^https?:\/\//.test(website)) {
    const link = Object.assign(el("a", website), { href: website, rel: "noopener" });
    const value = el("dd");
    value.append(link);
    list.append(el("dt", "Website"), value);
  }
  const link = document.getElementById("stop-osm") as HTMLAnchorElement;
  link.href = detail.osm.url;
  (document.getElementById("stop-attribution") as HTMLElement).textContent = detail.provenance.attribution;
}

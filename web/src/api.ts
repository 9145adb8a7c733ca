// The gateway's HTTP API (schemas/openapi.json), same origin, session cookie.

export interface Profile {
  id: string;
  username: string;
  display_name: string;
  interest_theme_ids: string[];
  revision: number;
}
export interface Theme {
  id: string;
  name: string;
  description: string;
}
export interface RoutePoint {
  lat: number;
  lng: number;
  name?: string;
  osm?: string;
  themes?: string[];
  arrival_minutes?: number;
  dwell_minutes?: number;
}
export interface Route {
  distance_m: number;
  duration_minutes: number;
  geometry: { type: "LineString"; coordinates: [number, number][] };
  points: RoutePoint[];
  attribution?: string;
}
export interface RouteState {
  request_id: string;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  progress: number;
  error?: string;
  route?: Route;
}
export interface RequestSummary {
  request_id: string;
  status: RouteState["status"];
  progress: number;
  created_at: string;
  summary: { duration_minutes: number; themes: string[]; distance_m: number | null; stops: number | null };
}
export interface PoiDetail {
  id: string;
  name: string | null;
  themes: string[];
  osm: { type: string; id: number; url: string };
  tags: {
    opening_hours: string | null;
    website: string | null;
    wikipedia: string | null;
    wheelchair: string | null;
    address: { street: string | null; housenumber: string | null; postcode: string | null; city: string | null } | null;
  };
  provenance: { attribution: string };
}
export type Place = { lat: number; lng: number };
export interface SavedSummary {
  id: string;
  name: string;
  request_id: string;
  created_at: string;
}

/** An API refusal in words a walker understands. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number | null,
  ) {
    super(message);
  }
}

function describe(status: number, code: string, message: string, retryAfter: number | null): string {
  if (status === 429) {
    const wait = retryAfter ? ` Try again in ${retryAfter} seconds.` : " Try again in a minute.";
    return `Too many requests.${wait}`;
  }
  if (status === 401) return "Your session has ended: please log in again.";
  if (status === 400 || status === 422) return `That was not accepted: ${message}`;
  if (status >= 500) return "The service is having trouble; please try again shortly.";
  return message || `Request failed (${code || status}).`;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The network is unreachable; check your connection.", null);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) {
    const error = data?.error ?? data ?? {};
    const retry = Number(response.headers.get("Retry-After")) || null;
    const code = String(error.code ?? response.status);
    throw new ApiError(response.status, code, describe(response.status, code, String(error.message ?? ""), retry), retry);
  }
  return data as T;
}

export const api = {
  login: (username: string, password: string) =>
    call<Profile>("POST", "/api/v1/login", { username, password }).catch((error: unknown) => {
      // Here 401 is not an ended session but a wrong username or password.
      if (error instanceof ApiError && error.status === 401) {
        throw new ApiError(401, error.code, "Wrong username or password.", null);
      }
      throw error;
    }),
  // 201: the account is created and logged in (the session cookie is set).
  signUp: (username: string, password: string, display_name: string) =>
    call<Profile>("POST", "/api/v1/users", { username, password, display_name }),
  // The password is asked again: without it a session older than five minutes is refused.
  leave: (password: string) => call<void>("DELETE", "/api/v1/users/me", { password }),
  me: () => call<Profile>("GET", "/api/v1/users/me"),
  logout: () => call<void>("POST", "/api/v1/logout"),
  themes: () => call<{ data: Theme[] }>("GET", "/api/v1/interest-themes"),
  setInterests: (ids: string[], expected_revision: number) =>
    call<Profile>("PUT", "/api/v1/users/me/interests", { interest_theme_ids: ids, expected_revision }),
  ask: (start: Place, end: Place | null, duration_minutes: number, preferences: string[], seed: number) =>
    call<{ request_id: string }>("POST", "/api/v1/routes", { start, end, duration_minutes, preferences, seed }),
  recent: () => call<{ data: RequestSummary[] }>("GET", "/api/v1/routes?limit=10"),
  poi: (id: string) => call<PoiDetail>("GET", `/api/v1/pois/${encodeURIComponent(id)}`),
  route: (id: string) => call<RouteState>("GET", `/api/v1/routes/${encodeURIComponent(id)}`),
  cancel: (id: string) => call<unknown>("DELETE", `/api/v1/routes/${encodeURIComponent(id)}`),
  save: (request_id: string, name: string) =>
    call<SavedSummary>("POST", "/api/v1/saved-routes", { request_id, name }),
  deleteSaved: (id: string) => call<void>("DELETE", `/api/v1/saved-routes/${encodeURIComponent(id)}`),
  saved: () => call<{ data: SavedSummary[] }>("GET", "/api/v1/saved-routes"),
  savedRoute: (id: string) => call<{ route: Route; name: string; request_id: string }>(
    "GET", `/api/v1/saved-routes/${encodeURIComponent(id)}`),
};

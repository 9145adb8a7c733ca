// The service worker (built to dist/sw.js, scope /; registered by offline.ts). It lets a
// walker open the walks they saw without a network:
// - the app shell (index.html, the hashed assets, the manifest and icons; the list is
//   written into this file by the build, vite.config.ts) is precached on install; pages
//   are network-first with the cached index.html as fallback, the rest cache-first;
// - the API reads the app needs to show a signed-in walker their walks are network-first
//   and fall back to the cache only when the network fails (a 401 or any other answer is
//   passed on, never replaced by a cached one);
// - /tiles/* is cache-first with a cap on the number of tiles kept;
// - nothing else is cached: no other API response, no request but GET (the profile a log
//   in answers with is kept as the users/me read, see PROFILE_ANSWERS).
// Logging in or out and leaving (the request passing through here), or a "forget" message
// from the page, delete the walker's cached API reads and tiles: they tell where the
// walker walks and what they like.
export {};

declare const self: ServiceWorkerGlobalScope;

// Both replaced by the build (vite.config.ts, precacheList): the shell's files and a hash
// of their contents, so every build makes a new worker and a new shell cache.
const PRECACHE = "__WILDSIDE_PRECACHE__" as unknown as string[];
const VERSION = "__WILDSIDE_VERSION__";

const SHELL = `wildside-shell-${VERSION}`;
const DATA = "wildside-data";
const TILES = "wildside-tiles";
const MAX_TILES = 1500;
// GETs kept for offline use. users/me (username, display name, chosen themes) is kept
// because the app decides from it whether someone is signed in: without it an offline
// reload would show the login form and hide the saved walks. It is what the signed-in
// page shows anyway, stays on the device that holds the session cookie, and is deleted
// with the rest at log out, at the next log in and when the server answers 401.
const DATA_PATHS = /^\/api\/v1\/(users\/me|interest-themes|saved-routes(\/[^/]+)?|routes\/[^/]+)$/;
const ME = "/api/v1/users/me";
// Requests that start or end a session: the caches are emptied before they are sent.
const SESSION_CHANGES = new Set(["POST /api/v1/login", "POST /api/v1/logout", `DELETE ${ME}`]);
// Requests answered with the walker's profile (the body GET users/me answers): kept as
// that read, since the app reads users/me only when a page opens, not after a log in.
const PROFILE_ANSWERS = new Set(["POST /api/v1/login", `PUT ${ME}/interests`]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith("wildside-shell-") && name !== SHELL).map((name) => caches.delete(name)),
      ))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  if ((event.data as { type?: string } | null)?.type === "forget") {
    event.waitUntil(forget().then(() => event.ports[0]?.postMessage("forgotten")));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    const what = `${request.method} ${url.pathname}`;
    if (SESSION_CHANGES.has(what) || PROFILE_ANSWERS.has(what)) event.respondWith(passOn(request, what));
    return;
  }
  if (request.mode === "navigate") event.respondWith(page(request));
  else if (DATA_PATHS.test(url.pathname)) event.respondWith(networkFirst(request));
  else if (url.pathname.startsWith("/tiles/")) event.respondWith(tile(request));
  else if (PRECACHE.includes(url.pathname)) event.respondWith(cacheFirst(request));
});

async function forget(): Promise<void> {
  await Promise.all([caches.delete(DATA), caches.delete(TILES)]);
}

/** A request that is never cached itself: the previous session's caches are deleted before
 * a session change is sent (nothing of it survives), a profile answer is kept as users/me. */
async function passOn(request: Request, what: string): Promise<Response> {
  if (SESSION_CHANGES.has(what)) await forget();
  const response = await fetch(request);
  if (response.status === 200 && PROFILE_ANSWERS.has(what)) {
    const profile = new Response(await response.clone().blob(), {
      headers: { "Content-Type": "application/json" }, // no cookie, no other header kept
    });
    await (await caches.open(DATA)).put(new URL(ME, self.location.origin).href, profile);
  }
  return response;
}

async function page(request: Request): Promise<Response> {
  try {
    return await fetch(request);
  } catch (error) {
    const cached = await caches.match("/index.html", { cacheName: SHELL });
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  return (await caches.match(request, { cacheName: SHELL })) ?? fetch(request);
}

async function networkFirst(request: Request): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(request);
  } catch (error) {
    const cached = await (await caches.open(DATA)).match(request, { ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
  if (response.status === 200) await (await caches.open(DATA)).put(request, response.clone());
  else if (response.status === 401) await forget();
  return response;
}

async function tile(request: Request): Promise<Response> {
  const cache = await caches.open(TILES);
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.status !== 206) {
    await cache.put(request, response.clone());
    await trim(cache);
  }
  return response;
}

let trimming = false;

/** Keep the newest MAX_TILES tiles (a cache lists its entries oldest first). */
async function trim(cache: Cache): Promise<void> {
  if (trimming) return;
  trimming = true;
  try {
    const keys = await cache.keys();
    await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_TILES)).map((key) => cache.delete(key)));
  } finally {
    trimming = false;
  }
}

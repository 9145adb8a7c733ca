/** The Wildside sample client: log in, ask for a walk with an idempotency key (and retry
 * it), follow it over /ws to its final status, then page through two listings by their
 * links alone. Prints one JSON object per line. Settings come from the environment. */
import { expectStatus, Session } from "./http.js";
import { emit } from "./log.js";
import { walk } from "./pages.js";
import { submitRoute } from "./routes.js";
import { waitFinal } from "./socket.js";

const env = process.env;
const BASE = (env.WILDSIDE_BASE_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
const ORIGIN = env.WILDSIDE_ORIGIN ?? new URL(BASE).origin;
const PAGE_SIZE = Number(env.WILDSIDE_PAGE_SIZE ?? "2");
const TIMEOUT_MS = Number(env.WILDSIDE_TIMEOUT_SECONDS ?? "60") * 1000;
const WALK = {
  start: { lat: 60.16952, lng: 24.95224 }, // Senate Square, Helsinki
  duration_minutes: 30,
  preferences: ["history", "architecture"],
};

async function main(): Promise<void> {
  if (typeof WebSocket === "undefined") {
    throw new Error("no global WebSocket: run with node --experimental-websocket (Node 20)");
  }
  const user = new Session(BASE, ORIGIN);
  const profile = await user.login(
    env.WILDSIDE_USER ?? "demo",
    env.WILDSIDE_PASSWORD ?? "wildside-demo",
  );
  emit("login", { username: profile.username, role: profile.role });

  const key = crypto.randomUUID();
  const first = await submitRoute(user, WALK, key);
  const requestId = String(first.body.request_id);
  const location = first.headers.get("location") ?? "";
  emit("submitted", { request_id: requestId, idempotency_key: key, location });
  const again = await submitRoute(user, WALK, key);
  emit("retried", {
    request_id: again.body.request_id,
    idempotency_key: key,
    replayed: again.headers.get("idempotent-replayed") === "true",
    same_request: again.body.request_id === requestId,
  });

  const status = await waitFinal(user, requestId, TIMEOUT_MS);
  emit("final", { request_id: requestId, status });
  if (status === "succeeded") {
    const route = expectStatus(await user.call("GET", location), 200).body.route;
    emit("route", {
      stops: route.points.map((point: { name?: string }) => point.name ?? ""),
      attribution: route.attribution,
    });
  }

  await walk(user, "routes", `${BASE}/api/v1/routes?limit=${PAGE_SIZE}`, "request_id");

  const admin = new Session(BASE, ORIGIN);
  const adminProfile = await admin.login(
    env.WILDSIDE_ADMIN_USER ?? "admin",
    env.WILDSIDE_ADMIN_PASSWORD ?? "wildside-admin",
  );
  emit("login", { username: adminProfile.username, role: adminProfile.role });
  await walk(admin, "users", `${BASE}/api/v1/users?limit=${PAGE_SIZE}`, "id");
  emit("done");
}

main().catch((error: unknown) => {
  process.stderr.write(JSON.stringify({ event: "error", message: String(error) }) + "\n");
  process.exit(1);
});

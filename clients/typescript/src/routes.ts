/** A route request with an `Idempotency-Key`: every retry sends the same key, so a request
 * whose answer was lost is never made twice (the gateway replays the first answer). */
import { ApiError, Reply, Session } from "./http.js";

const ATTEMPTS = 5;

function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

export async function submitRoute(session: Session, body: unknown, key: string): Promise<Reply> {
  for (let attempt = 1; ; attempt += 1) {
    let reply: Reply | null = null;
    try {
      reply = await session.call("POST", `${session.base}/api/v1/routes`, body, {
        "Idempotency-Key": key,
      });
    } catch (error) {
      if (attempt >= ATTEMPTS) throw error; // the network failed: safe to retry with the key
    }
    if (reply?.status === 202) return reply;
    if (reply && ![429, 503].includes(reply.status)) throw new ApiError(reply.status, reply.body);
    if (attempt >= ATTEMPTS) throw new ApiError(reply?.status ?? 0, reply?.body);
    await sleep(Math.min(Number(reply?.headers.get("retry-after") ?? 1) || 1, 10));
  }
}

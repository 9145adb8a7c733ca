/** A route request followed over `/ws` until its final status (docs/websocket.md). */
import { Session } from "./http.js";
import { emit } from "./log.js";

const FINAL = new Set(["succeeded", "failed", "cancelled"]);

export function waitFinal(session: Session, requestId: string, timeoutMs: number): Promise<string> {
  const url = session.base.replace(/^http/, "ws") + "/ws";
  // A WebSocket cannot carry headers in a browser: the session goes in a subprotocol offer
  // next to `wildside.v1`, never in the URL.
  const socket = new WebSocket(url, ["wildside.v1", `bearer.${session.token}`]);
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no final status for ${requestId} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error: Error | null, status = ""): void => {
      clearTimeout(timer);
      socket.onclose = null;
      socket.close(1000);
      if (error) reject(error);
      else resolve(status);
    };
    socket.onopen = () => {
      emit("socket", { subprotocol: socket.protocol });
      socket.send(JSON.stringify({ type: "subscribe", request_id: requestId }));
    };
    socket.onmessage = (message: MessageEvent) => {
      const frame = JSON.parse(String(message.data));
      if (frame.type === "subscribed") {
        emit("subscribed", { request_id: frame.request_id });
      } else if (frame.type === "error") {
        finish(new Error(`socket error frame ${frame.code}: ${frame.message}`));
      } else if (frame.type === "route_generation_status" && frame.request_id === requestId) {
        const { status, progress } = frame;
        emit("status", { request_id: frame.request_id, status, progress });
        if (FINAL.has(frame.status)) finish(null, frame.status);
      }
    };
    socket.onerror = () => finish(new Error(`WebSocket ${url} failed`));
    socket.onclose = (event: CloseEvent) =>
      finish(new Error(`WebSocket closed (${event.code}) before a final status`));
  });
}

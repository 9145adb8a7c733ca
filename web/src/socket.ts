// The /ws status stream (docs/websocket.md): subprotocol wildside.v1, the session cookie
// as the credential (same origin), reconnect with backoff and resubscribe.

export interface StatusEvent {
  type: "route_generation_status";
  request_id: string;
  status: string;
  progress: number;
  error?: string;
}

type Listener = {
  status: (event: StatusEvent) => void;
  error: (message: string) => void;
  connection: (up: boolean) => void;
};

export class StatusSocket {
  private socket: WebSocket | null = null;
  private readonly subscriptions = new Set<string>();
  private attempts = 0;
  private closed = false;
  private timer: number | undefined;

  constructor(private readonly on: Listener) {}

  open(): void {
    this.closed = false;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws`, ["wildside.v1"]);
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.on.connection(true);
      for (const id of this.subscriptions) this.send({ type: "subscribe", request_id: id });
    };
    socket.onmessage = (message) => {
      let frame: { type?: string; code?: string; message?: string };
      try {
        frame = JSON.parse(String(message.data));
      } catch {
        return;
      }
      if (frame.type === "route_generation_status") this.on.status(frame as StatusEvent);
      else if (frame.type === "error") {
        this.on.error(frame.code === "rate_limited" ? "Too many cancels: wait a minute." : String(frame.message));
      }
    };
    socket.onclose = (event) => {
      this.socket = null;
      if (this.closed) return;
      this.on.connection(false);
      if (event.code === 4401) {
        this.on.error("Your session has ended: please log in again.");
        return;
      }
      const delay = Math.min(30_000, 500 * 2 ** this.attempts++);
      this.timer = window.setTimeout(() => this.open(), delay);
    };
  }

  /** Drop the connection as a network would (tests and "reconnect" use it). */
  drop(): void {
    this.socket?.close();
  }

  close(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    this.subscriptions.clear();
    this.socket?.close();
    this.socket = null;
  }

  subscribe(id: string): void {
    this.subscriptions.add(id);
    this.send({ type: "subscribe", request_id: id });
  }

  unsubscribe(id: string): void {
    this.subscriptions.delete(id);
    this.send({ type: "unsubscribe", request_id: id });
  }

  cancel(id: string): boolean {
    return this.send({ type: "cancel", request_id: id });
  }

  private send(frame: object): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }
}

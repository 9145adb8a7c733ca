/** The gateway over HTTP with a session cookie, as a browser would hold it. */

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

export function expectStatus(reply: Reply, ...wanted: number[]): Reply {
  if (!wanted.includes(reply.status)) throw new ApiError(reply.status, reply.body);
  return reply;
}

export class Session {
  /** The session token from the `session` cookie; empty until login. */
  token = "";

  constructor(
    readonly base: string,
    readonly origin: string,
  ) {}

  /** One request. Every unsafe request a cookie authenticates needs an allowed `Origin`
   * (CSRF rule, docs/security.md); the client sends it on every request. */
  async call(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> {
    const response = await fetch(url, {
      method,
      redirect: "error",
      headers: {
        Accept: "application/json",
        Origin: this.origin,
        ...(this.token ? { Cookie: `session=${this.token}` } : {}),
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : null;
    return { status: response.status, headers: response.headers, body: parsed };
  }

  /** POST /api/v1/login; keeps the `session` cookie for the calls that follow. */
  async login(username: string, password: string): Promise<any> {
    const reply = expectStatus(
      await this.call("POST", `${this.base}/api/v1/login`, { username, password }),
      200,
    );
    const cookie = reply.headers
      .getSetCookie()
      .map((header) => header.split(";")[0].trim())
      .find((pair) => pair.startsWith("session="));
    if (!cookie) throw new Error("login answered 200 without a session cookie");
    this.token = cookie.slice("session=".length);
    return reply.body;
  }
}

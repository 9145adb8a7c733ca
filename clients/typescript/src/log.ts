/** One JSON object per line on stdout: what the client did, for people and for tests. */
export function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

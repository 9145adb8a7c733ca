// Offline use (a PWA): the service worker (src/sw.ts, built to /sw.js) keeps the app shell,
// the walks the walker opened and the tiles they saw, so a saved walk opens offline.

/** Register the service worker (production builds only: `npm run dev` serves no /sw.js). */
export function registerOffline(): void {
  if (!("serviceWorker" in navigator) || import.meta.env.DEV) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error: unknown) => {
    console.warn("Offline use is unavailable:", error);
  });
}

/** Ask the service worker to delete the walker's cached API reads and tiles (at log out;
 * it also does so itself when the log-out request passes through it). */
export async function forgetOffline(): Promise<void> {
  const worker = (await navigator.serviceWorker?.getRegistration())?.active;
  if (!worker) return;
  const channel = new MessageChannel();
  const done = new Promise<void>((resolve) => {
    channel.port1.onmessage = () => resolve();
    window.setTimeout(resolve, 2000); // a worker that does not answer does not block log out
  });
  worker.postMessage({ type: "forget" }, [channel.port2]);
  await done;
}

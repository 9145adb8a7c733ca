import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defineConfig, type Plugin } from "vite";

const WORKER = "sw.js";

/** Writes the app shell's file list (the build's files and public/, sw.js aside) and a hash
 * of their contents into sw.js, replacing the placeholders in src/sw.ts. */
function precacheList(): Plugin {
  let publicDir = "";
  return {
    name: "wildside-precache",
    apply: "build",
    enforce: "post",
    configResolved(config) {
      publicDir = config.publicDir;
    },
    generateBundle(_options, bundle) {
      const worker = bundle[WORKER];
      if (!worker || worker.type !== "chunk") return this.error(`no ${WORKER} in the build`);
      if (!bundle["index.html"]) return this.error("no index.html in the build");
      const files = new Map<string, string | Uint8Array>();
      for (const [name, output] of Object.entries(bundle)) {
        if (name !== WORKER) files.set(name, output.type === "chunk" ? output.code : output.source);
      }
      for (const name of publicDir ? readdirSync(publicDir) : []) files.set(name, readFileSync(join(publicDir, name)));
      const names = [...files.keys()].sort();
      const hash = createHash("sha256");
      for (const name of names) hash.update(name).update("\0").update(files.get(name) ?? "").update("\0");
      const list = JSON.stringify(names.map((name) => `/${name}`));
      const placeholders = [/(["'`])__WILDSIDE_PRECACHE__\1/g, /__WILDSIDE_VERSION__/g];
      for (const placeholder of placeholders) {
        if (!placeholder.test(worker.code)) return this.error(`${WORKER} lost its placeholder ${placeholder}`);
        placeholder.lastIndex = 0;
      }
      worker.code = worker.code
        .replace(placeholders[0], list)
        .replace(placeholders[1], hash.digest("hex").slice(0, 16));
    },
  };
}

// Built into web/dist (gitignored); the gateway serves it at / (WEB_DIST_DIR).
// Hashed names under assets/ are cached for a year by the gateway; the service worker
// (src/sw.ts) is built to dist/sw.js, a fixed name at the root (its scope is /).
export default defineConfig({
  plugins: [precacheList()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      input: { index: "index.html", sw: "src/sw.ts" },
      output: {
        entryFileNames: (chunk) => (chunk.name === "sw" ? WORKER : "assets/[name]-[hash].js"),
      },
    },
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/tiles": "http://127.0.0.1:8080",
      "/ws": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
});

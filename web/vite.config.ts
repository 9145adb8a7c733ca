import { defineConfig } from "vite";

// Built into web/dist (gitignored); the gateway serves it at / (WEB_DIST_DIR).
// Hashed names under assets/ are cached for a year by the gateway.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/tiles": "http://127.0.0.1:8080",
      "/ws": { target: "ws://127.0.0.1:8080", ws: true },
    },
  },
});

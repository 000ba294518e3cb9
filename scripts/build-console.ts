/**
 * Builds the web console (console/) into console/dist with vite: the
 * static files every node serves on --console-listen. `npm ci` runs it
 * (the root package's `prepare`), so a fresh clone serves the console with
 * nothing fetched at run time; `npm run build:console` runs it again after
 * a change to console/. ADR 0010 says why vite and Preact.
 */
import { join } from "node:path"
import { build } from "vite"

const root = join(import.meta.dirname, "..", "console")

try {
  await build({
    root,
    base: "/",
    logLevel: "warn",
    configFile: false,
    publicDir: false,
    oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
    build: { outDir: join(root, "dist"), emptyOutDir: true, target: "es2022", sourcemap: false, reportCompressedSize: false }
  })
  console.log(`built the console into ${join(root, "dist")}`)
} catch (e) {
  console.error(`could not build the console: ${e instanceof Error ? e.message : String(e)}`)
  process.exit(1)
}

/**
 * The console's browser code, built once at install time (`npm ci` runs the
 * root package's `prepare`, scripts/build-console.ts, which bundles
 * console/ with vite into console/dist) and served from that folder: no
 * CDN, nothing fetched at run time, so the console works offline. Files are
 * read once at start into memory (the bundle is small) and served with
 * their type; any path that is not a file is the single page's index.html
 * (the page routes itself).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { extname, join, relative, sep } from "node:path"

/** Where the build writes the console (repository root/console/dist). */
export const defaultAssetDir = join(import.meta.dirname, "..", "..", "..", "console", "dist")

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  // pdf.js's worker keeps its .mjs name in the build; a module worker must come with a JavaScript type.
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8"
}

export interface Asset {
  readonly body: Buffer
  readonly type: string
  /** Built files carry a content hash in their name: cached for good. index.html is revalidated. */
  readonly immutable: boolean
}

export type AssetTable =
  | { readonly built: true; readonly get: (path: string) => Asset }
  | { readonly built: false; readonly problem: string }

const filesUnder = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [path]
  })

/** Loads the built console; when it is not built, says how to build it instead of failing the node. */
export const loadAssets = (dir: string = defaultAssetDir): AssetTable => {
  if (!existsSync(join(dir, "index.html"))) {
    return { built: false, problem: `the console is not built (no ${join(dir, "index.html")}): run \`npm run build:console\` in the Cairn checkout (\`npm ci\` does it)` }
  }
  const files = new Map<string, Asset>()
  for (const path of filesUnder(dir)) {
    const url = "/" + relative(dir, path).split(sep).join("/")
    files.set(url, { body: readFileSync(path), type: types[extname(path)] ?? "application/octet-stream", immutable: url.startsWith("/assets/") })
  }
  const index = files.get("/index.html")!
  return { built: true, get: (path) => files.get(path) ?? index }
}

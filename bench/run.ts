/**
 * `npm run bench -- NAME [args]`: runs `bench/NAME.bench.ts`. Every benchmark
 * prints its figures next to a baseline measured in the same run and saves
 * them as JSON under `bench/results/` (see `bench/result.ts`).
 */
import { readdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .map((f) => f.slice(0, -".bench.ts".length))
  .sort()

const name = process.argv[2]
if (name === undefined || !available.includes(name)) {
  process.stderr.write(
    `usage: npm run bench -- NAME [args]\n` +
      (name === undefined ? "" : `unknown benchmark "${name}". `) +
      `available: ${available.join(", ")}\n`
  )
  process.exit(2)
}
const module = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as {
  readonly main: (args: ReadonlyArray<string>) => Promise<void>
}
await module.main(process.argv.slice(3))

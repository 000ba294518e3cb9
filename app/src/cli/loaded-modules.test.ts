/**
 * What `cairn server` loads, seen from outside: a real `node bin/cairn.js
 * server` runs with a module hook that records every module it loads, until
 * it is ready, and the list must not hold the simulator, the checker or
 * jepsen (loaded lazily by main.ts for their own commands only), the AWS SDK
 * (a dev dependency), nor the barrel of @effect/platform-node (which brings
 * redis, ws and effect's cluster modules). Each of these cost idle
 * memory (docs/server.md, "Memory"); counting modules rather than bytes keeps
 * the test independent of the machine. It also checks that bin/cairn.js gave
 * the server its V8 flags.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { afterAll, describe, expect, it } from "vitest"
import { exited } from "@cairn/runtime-node/server/local-cluster"

const cairnJs = join(import.meta.dirname, "..", "..", "..", "bin", "cairn.js")
const dir = mkdtempSync(join(tmpdir(), "cairn-loaded-modules-"))
const children: Array<ChildProcess> = []
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL")
  await Promise.all(children.map(exited))
  rmSync(dir, { recursive: true, force: true })
})

// Appends each loaded module's URL, and once the node flags of the process, to LOADED_MODULES_LOG.
const hook = `import { registerHooks } from "node:module"
import { appendFileSync } from "node:fs"
const out = process.env.LOADED_MODULES_LOG
appendFileSync(out, "#execArgv " + process.execArgv.join(" ") + "\\n")
registerHooks({ load(url, context, next) { appendFileSync(out, url + "\\n"); return next(url, context) } })
`

/** Runs `cairn server` until /ready answers 200, stops it; returns what it loaded and its node flags. */
const loadedByServer = async (): Promise<{ readonly modules: ReadonlyArray<string>; readonly execArgv: string }> => {
  const hookFile = join(dir, "hook.mjs")
  const logFile = join(dir, "loaded.txt")
  writeFileSync(hookFile, hook)
  writeFileSync(logFile, "")
  const args = ["--import", hookFile, cairnJs, "server", "--data-dir", join(dir, "data"), "--api-listen", "127.0.0.1:0", "--s3-listen", "127.0.0.1:0", "--peer-listen", "127.0.0.1:0"]
  const env = { ...process.env, LOADED_MODULES_LOG: logFile, CAIRN_ACCESS_KEY: "CAIRNMODULES01", CAIRN_SECRET_KEY: "loaded-modules-secret-0123456789" }
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] })
  children.push(child)
  let api = ""
  const output: Array<string> = []
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      output.push(line)
      const m = /"msg":"cairn server started".*"api":"(http:\/\/[^"]+)"/.exec(line)
      if (m !== null) api = m[1]!
    })
  }
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`cairn server exited early:\n${output.join("\n")}`)
    if (api !== "" && (await fetch(`${api}/ready`).catch(() => undefined))?.status === 200) break
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill("SIGTERM")
  await exited(child)
  const lines = readFileSync(logFile, "utf8").split("\n").filter((l) => l !== "")
  const flags = lines.filter((l) => l.startsWith("#execArgv "))
  return { modules: lines.filter((l) => !l.startsWith("#")), execArgv: flags[flags.length - 1] ?? "" }
}

/** Modules a server must not load, by what they are. */
const forbidden: ReadonlyArray<readonly [string, RegExp]> = [
  ["the simulator", /\/sim\/src\//],
  ["the checker and jepsen", /\/jepsen\/src\/|\/runtime-node\/src\/jepsen\//],
  ["the test runtime", /\/runtime-test\/src\//],
  ["the AWS SDK", /\/node_modules\/(@aws-sdk|@smithy)\//],
  ["redis (via @effect/platform-node's barrel)", /\/node_modules\/(redis|@redis)\//],
  // (effect's own barrel, which every module imports, brings three of its sql modules through persistence: not ours to cut.)
  ["effect's cluster modules", /\/node_modules\/effect\/dist\/cluster\//],
  ["the CLI's other commands", /\/runtime-node\/src\/cli\/(dev|cluster|admin)-command\.ts$/]
]

describe("cairn server", () => {
  it("loads the node and nothing it does not run, with its V8 flags", async () => {
    const { modules, execArgv } = await loadedByServer()
    // The hook saw the server itself, so an empty list cannot pass.
    expect(modules.some((m) => m.endsWith("/runtime-node/src/server/server.ts"))).toBe(true)
    expect(modules.some((m) => m.endsWith("/runtime-node/src/s3/listener.ts"))).toBe(true)
    for (const [what, pattern] of forbidden) {
      expect(modules.filter((m) => pattern.test(m)), `cairn server loaded ${what}`).toEqual([])
    }
    expect(execArgv).toContain("--max-semi-space-size=8")
  }, 60_000)
})

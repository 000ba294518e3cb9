/**
 * No import in the repository draws an arrow between workspaces that must
 * never exist (arrows.ts; drawn in docs/architecture.md). The scanner is
 * first shown to catch each kind of arrow, and the state before app/ existed
 * (runtime-node's CLI importing the simulator), so a scanner that passes
 * everything fails here too.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { describeOffence, importSites, importsOf, type ImportSite, offenceOf, type Offence } from "./arrows.ts"

const root = join(import.meta.dirname, "..", "..", "..")

const offences = (sites: ReadonlyArray<ImportSite>): ReadonlyArray<Offence> => sites.flatMap((s) => offenceOf(s) ?? [])
const site = (file: string, specifier: string): ImportSite => ({ file, line: 1, specifier })

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A throwaway repository tree holding the given files. */
const tree = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-arrows-"))
  dirs.push(dir)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, dirname(path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  return dir
}

describe("the arrows scanner", () => {
  it("reads every kind of import, and nothing in comments or strings", () => {
    const source = [
      `import { a } from "@cairn/sim"`,
      `export * from "../x.ts"`,
      `import type { B } from "@cairn/jepsen/model/kv"`,
      `type S = import("effect").Scope.Scope`,
      `const m = await import("@cairn/app/cli/main")`,
      `// import { c } from "@cairn/runtime-node"`,
      `const s = 'import { d } from "@cairn/runtime-test"'`
    ].join("\n")
    expect(importsOf(source)).toEqual([
      { specifier: "@cairn/sim", line: 1 },
      { specifier: "../x.ts", line: 2 },
      { specifier: "@cairn/jepsen/model/kv", line: 3 },
      { specifier: "effect", line: 4 },
      { specifier: "@cairn/app/cli/main", line: 5 }
    ])
  })

  it("flags each arrow that must never exist, by package name or by relative path", () => {
    const bad = [
      site("core/src/wal/wal.test.ts", "@cairn/runtime-test"),
      site("core/src/kv/x.ts", "@cairn/sim/cluster"),
      site("core/src/a.ts", "../../runtime-node/src/net/free-ports.ts"),
      site("core/src/a.ts", "@cairn/jepsen"),
      site("core/src/a.ts", "@cairn/app/cli/main"),
      site("runtime-node/src/cli/main.ts", "@cairn/sim/cli/sim-command"),
      site("sim/src/run.ts", "@cairn/runtime-node/server/config"),
      site("jepsen/src/checker/x.ts", "@cairn/sim"),
      site("jepsen/src/checker/x.ts", "../../../runtime-node/src/index.ts"),
      site("runtime-node/src/server/local-cluster.ts", "@cairn/app/cli/main"),
      site("sim/src/run.ts", "@cairn/app/cli/run-main"),
      site("bench/s3.bench.ts", "../app/src/cli/main.ts"),
      site("scripts/x.ts", "@cairn/app/cli/main")
    ]
    expect(offences(bad).map((o) => `${o.from} → ${o.to}`)).toEqual([
      "core → runtime-test", "core → sim", "core → runtime-node", "core → jepsen", "core → app",
      "runtime-node → sim", "sim → runtime-node", "jepsen → sim", "jepsen → runtime-node",
      "runtime-node → app", "sim → app", "bench → app", "scripts → app"
    ])
  })

  it("allows the arrows the design has", () => {
    const good = [
      site("core/src/raft/log.ts", "./membership.ts"),
      site("core/src/s3/xml-parse.ts", "fast-xml-parser"),
      site("sim/src/cluster.ts", "@cairn/core"),
      site("sim/src/storage/wal.sim.test.ts", "@cairn/runtime-test"),
      site("sim/src/run.ts", "@cairn/jepsen/checker/linearizability"),
      site("runtime-node/src/jepsen/run.ts", "@cairn/jepsen"),
      site("runtime-test/src/raft/node.test.ts", "@cairn/core/raft/node"),
      site("app/src/cli/main.ts", "@cairn/sim/cli/sim-command"),
      site("app/src/cli/main.ts", "@cairn/runtime-node/cli/server-command"),
      site("bin/cairn.js", "../app/src/cli/main.ts"),
      site("bench/s3.bench.ts", "../runtime-node/src/net/free-ports.ts")
    ]
    expect(offences(good)).toEqual([])
  })

  it("names the offending file, line and import", () => {
    const dir = tree({
      "runtime-node/src/cli/main.ts": `import { Effect } from "effect"\nimport { simCommand } from "@cairn/sim/cli/sim-command"\n`,
      "sim/src/cli/sim-command.ts": `export const simCommand = 1\n`
    })
    expect(offences(importSites(dir)).map(describeOffence)).toEqual([
      `runtime-node/src/cli/main.ts:2 imports "@cairn/sim/cli/sim-command": runtime-node → sim must never exist (the production runtime never ships the simulator; app/ composes the two)`
    ])
  })

  it("catches the tree as it was before app/: the CLI in runtime-node, core's storage tests on the simulator", () => {
    const dir = tree({
      "runtime-node/src/cli/main.ts": `import { simCommand } from "@cairn/sim/cli/sim-command"\nimport { checkCommand } from "@cairn/jepsen/cli/check-command"\n`,
      "core/src/wal/wal.sim.test.ts": `import { seededSource } from "@cairn/runtime-test"\nimport { faultFreeCluster } from "@cairn/sim/cluster"\n`,
      "bin/cairn.js": `const main = await import("../runtime-node/src/cli/main.ts")\n`
    })
    expect(offences(importSites(dir)).map((o) => `${o.file}:${o.line} ${o.specifier}`)).toEqual([
      "core/src/wal/wal.sim.test.ts:1 @cairn/runtime-test",
      "core/src/wal/wal.sim.test.ts:2 @cairn/sim/cluster",
      "runtime-node/src/cli/main.ts:1 @cairn/sim/cli/sim-command"
    ])
  })
})

describe("the repository", () => {
  it("has no import that draws an arrow that must never exist, tests included", () => {
    const sites = importSites(root)
    // The scan reached every workspace (a wrong root or a skipped folder would pass vacuously).
    for (const ws of ["core", "sim", "runtime-test", "runtime-node", "jepsen", "app", "bin"]) {
      expect(sites.some((s) => s.file.startsWith(`${ws}/`)), `no imports read under ${ws}/`).toBe(true)
    }
    expect(offences(sites).map(describeOffence)).toEqual([])
  })
})

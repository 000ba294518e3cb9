/**
 * The compose cluster's shared secrets: generated once, reused after, valid
 * as a `cairn server --config` file, and the same for every node when
 * several start at once (real processes racing on one directory).
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { rawFromFile, resolveConfig, ServerConfigError } from "./config.ts"
import { sharedSecrets, SharedSecretsError } from "./shared-secrets.ts"

const dirs: Array<string> = []
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), "cairn-shared-secrets-"))
  dirs.push(d)
  return d
}
const script = join(import.meta.dirname, "..", "..", "..", "scripts", "container", "shared-secrets.ts")

const run = (path: string): Promise<{ code: number | null; out: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [script, path], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (c: Buffer) => (out += c.toString()))
    child.stderr.on("data", (c: Buffer) => (out += c.toString()))
    child.on("exit", (code) => resolve({ code, out }))
  })

describe("shared secrets", () => {
  it("generates the file once (mode 0600, a valid config file for a 3-node cluster) and reuses it", () => {
    const path = join(fresh(), "etc", "cluster.json")
    const first = sharedSecrets(path)
    if (first instanceof SharedSecretsError) throw first
    expect(first.generated).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const again = sharedSecrets(path)
    expect(again).toEqual({ ...first, generated: false })
    const raw = rawFromFile(path, readFileSync(path, "utf8"))
    if (raw instanceof ServerConfigError) throw raw
    const config = resolveConfig(raw, { id: { value: "n2", source: "test" }, peers: { value: "n1=127.0.0.1:1,n2=127.0.0.1:2,n3=127.0.0.1:3", source: "test" } })
    if (config instanceof ServerConfigError) throw config
    expect(config.clusterSecret).toBe(first.clusterSecret)
    expect([config.accessKey, config.secretKey]).toEqual([first.accessKey, first.secretKey])
  })

  it("gives every node the same secrets when they start at once; exactly one generates and prints them", async () => {
    const path = join(fresh(), "cluster.json")
    const results = await Promise.all(Array.from({ length: 5 }, () => run(path)))
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0])
    const generators = results.filter((r) => r.out.includes("Generated the cluster secret"))
    expect(generators).toHaveLength(1)
    const stored = JSON.parse(readFileSync(path, "utf8")) as { accessKey: string; secretKey: string }
    expect(generators[0]!.out).toContain(`CAIRN_ACCESS_KEY=${stored.accessKey}`)
    expect(generators[0]!.out).toContain(`CAIRN_SECRET_KEY=${stored.secretKey}`)
    const again = sharedSecrets(path)
    expect(again).toMatchObject({ ...stored, generated: false })
  })

  it("refuses, naming the file, an existing file that is not valid or lacks a secret", async () => {
    const dir = fresh()
    writeFileSync(join(dir, "bad.json"), "{not json")
    writeFileSync(join(dir, "partial.json"), JSON.stringify({ clusterSecret: "0123456789abcdef0123" }))
    expect(sharedSecrets(join(dir, "bad.json"))).toMatchObject({ _tag: "SharedSecretsError", message: expect.stringContaining("bad.json: not valid JSON") })
    expect(sharedSecrets(join(dir, "partial.json"))).toMatchObject({ message: expect.stringContaining("lacks accessKey, secretKey") })
    const cli = await run(join(dir, "partial.json"))
    expect(cli.code).toBe(1)
    expect(cli.out).toContain("partial.json: lacks accessKey, secretKey")
  })
})

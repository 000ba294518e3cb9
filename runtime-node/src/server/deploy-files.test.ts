/**
 * The Prometheus files in deploy/ are checked with Debian's promtool (the
 * `prometheus` package; .ci/run installs it): the alert rules parse, their
 * unit tests (cairn-alerts.test.yml) pass, and the example configuration is
 * valid. A deliberately broken rule and a wrong expectation show that a
 * promtool failure does fail these tests.
 */
import { spawnSync } from "node:child_process"
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const deployDir = join(import.meta.dirname, "..", "..", "..", "deploy")
const promDir = join(deployDir, "prometheus")
const PROMTOOL = "/usr/bin/promtool"

const promtool = (...args: Array<string>): { readonly ok: boolean; readonly output: string } => {
  const r = spawnSync(PROMTOOL, args, { encoding: "utf8", timeout: 60_000 })
  if (r.error !== undefined) throw new Error(`cannot run ${PROMTOOL} (apt-get install prometheus): ${r.error.message}`)
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` }
}

describe("deploy/prometheus", () => {
  const scratch = mkdtempSync(join(tmpdir(), "cairn-promtool-"))
  afterAll(() => rmSync(scratch, { recursive: true, force: true }))

  it("has alert rules promtool accepts", () => {
    const r = promtool("check", "rules", join(promDir, "cairn-alerts.yml"))
    expect(r.output).toMatch(/SUCCESS: \d+ rules found/)
    expect(r.ok, r.output).toBe(true)
  })

  it("passes the alert unit tests (no leader, S3 5xx ratio, disk almost full)", () => {
    const r = promtool("test", "rules", join(promDir, "cairn-alerts.test.yml"))
    expect(r.ok, r.output).toBe(true)
  })

  it("has an example configuration promtool accepts", () => {
    const r = promtool("check", "config", join(promDir, "prometheus.yml"))
    expect(r.ok, r.output).toBe(true)
  })

  it("fails on a broken rule and on an alert that does not behave as its unit test says", () => {
    const broken = join(scratch, "broken.yml")
    writeFileSync(broken, readFileSync(join(promDir, "cairn-alerts.yml"), "utf8").replace("cairn_raft_has_leader == 0", "cairn_raft_has_leader == == 0"))
    expect(promtool("check", "rules", broken).ok).toBe(false)
    // The same unit tests against rules whose no-leader alert waits 5 minutes instead of 1.
    writeFileSync(join(scratch, "cairn-alerts.yml"), readFileSync(join(promDir, "cairn-alerts.yml"), "utf8").replace(/(cairn_raft_has_leader == 0\n\s+for: )1m/, "$15m"))
    copyFileSync(join(promDir, "cairn-alerts.test.yml"), join(scratch, "cairn-alerts.test.yml"))
    expect(readFileSync(join(scratch, "cairn-alerts.yml"), "utf8")).toContain("for: 5m")
    const r = promtool("test", "rules", join(scratch, "cairn-alerts.test.yml"))
    expect(r.ok).toBe(false)
    expect(r.output).toContain("CairnNoLeader")
  })
})

/**
 * The Reports page's files without a server: which folders count as
 * reports (one or two levels down, holding an index.html), their titles
 * and order, and the names a request may give (no traversal, no hidden
 * files). The HTTP side (admin only, headers, links out of the folder) is
 * in console-api.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { listReports, reportPathOf } from "./reports.ts"

const dir = mkdtempSync(join(tmpdir(), "cairn-reports-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const write = (path: string, text: string, ageSeconds = 0) => {
  const file = join(dir, path)
  mkdirSync(join(file, ".."), { recursive: true })
  writeFileSync(file, text)
  const t = new Date(Date.UTC(2026, 11, 1) - ageSeconds * 1000)
  utimesSync(file, t, t)
}

describe("reports", () => {
  it("lists folders one or two levels down that hold an index.html, newest first, with their titles and files", async () => {
    write("root/jepsen-a/index.html", "<!doctype html><title>Jepsen &amp; friends: valid</title>", 60)
    write("root/jepsen-a/summary.json", "{}")
    write("root/jepsen-a/n1.log", "log")
    write("root/sim/seed-7/index.html", "<html><head><title>seed 7</title></head></html>", 10)
    write("root/no-report/notes.txt", "not a report")
    write("root/.hidden/index.html", "<title>hidden</title>")
    write("root/a/b/c/index.html", "<title>too deep</title>")
    write("outside/index.html", "<title>outside</title>")
    symlinkSync(join(dir, "outside"), join(dir, "root", "linked"))
    const view = await listReports(join(dir, "root"))
    expect(view.reports.map((r) => [r.path, r.title])).toEqual([["sim/seed-7", "seed 7"], ["jepsen-a", "Jepsen & friends: valid"]])
    expect(view.reports[1]!.files).toEqual(["index.html", "n1.log", "summary.json"])
    expect(view.more).toBe(0)
    expect(view.dir).toBe(join(dir, "root"))
  })

  it("lists nothing for a folder that does not exist", async () => {
    expect((await listReports(join(dir, "nowhere"))).reports).toEqual([])
  })

  it("accepts two or three plain segments and refuses traversal, hidden names and separators", () => {
    expect(reportPathOf("jepsen-a/index.html")).toEqual({ ok: true, segments: ["jepsen-a", "index.html"] })
    expect(reportPathOf("sim/seed-7/index.html")).toEqual({ ok: true, segments: ["sim", "seed-7", "index.html"] })
    for (const bad of ["index.html", "a/b/c/index.html", "../index.html", "a/../../etc/passwd", "%2e%2e/index.html", "a%2F..%2F..%2Fetc/passwd", ".hidden/index.html", "a//index.html", "a/%00x", "a/%E0%A4%A", "a/index.html/"]) {
      expect([bad, reportPathOf(bad).ok]).toEqual([bad, false])
    }
  })
})

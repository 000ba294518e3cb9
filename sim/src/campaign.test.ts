import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { runCampaign } from "./campaign.ts"

const cairn = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "cairn.js")

/** Children this file started: a test that times out never reaches its finally, so afterEach stops them too. */
const started = new Set<ChildProcess>()
/** Kills the child's whole process group (the launcher and the Node 24 it may start), if it still runs. */
const stopGroup = (child: ChildProcess) => {
  started.delete(child)
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  try {
    process.kill(-child.pid, "SIGKILL")
  } catch (e) {
    // ESRCH: the group ended between the check and the kill.
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e
  }
}
afterEach(() => {
  for (const child of [...started]) stopGroup(child)
})

const collect = async (workers: number) => {
  const out: Array<{ seed: number; traceHash: string; result: string }> = []
  for await (const r of runCampaign({ from: 1, to: 4 }, { durationMs: 3_000 }, workers)) out.push({ seed: r.seed, traceHash: r.traceHash, result: r.result })
  return out
}

describe("campaigns", () => {
  it("worker threads give the same results, in seed order, as one thread", async () => {
    const inline = await collect(1)
    const parallel = await collect(2)
    expect(inline.map((r) => r.seed)).toEqual([1, 2, 3, 4])
    expect(parallel).toEqual(inline)
  })

  it("a one-thread campaign stops on SIGTERM between seeds instead of running to its end", async () => {
    // 100,000 seeds would run for hours: only a signal handled between seeds ends it.
    const child = spawn(process.execPath, [cairn, "sim", "--seeds", "1..100000", "--duration-ms", "1000", "--workers", "1", "--json"], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"]
    })
    started.add(child)
    try {
      let out = ""
      child.stdout.setEncoding("utf8")
      await new Promise<void>((resolve) => {
        child.stdout.on("data", (chunk: string) => {
          out += chunk
          if (out.includes("\n")) resolve()
        })
      })
      child.kill("SIGTERM")
      const [code, signal] = (await once(child, "exit")) as [number | null, NodeJS.Signals | null]
      expect(code === 143 || signal === "SIGTERM").toBe(true)
      const seeds = out.trim().split("\n").length
      expect(seeds).toBeLessThan(100_000)
    } finally {
      stopGroup(child)
    }
  }, 120_000)
})

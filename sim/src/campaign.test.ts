import { spawn } from "node:child_process"
import { once } from "node:events"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { runCampaign } from "./campaign.ts"

const cairn = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "cairn.js")

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
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(-child.pid, "SIGKILL")
    }
  }, 120_000)
})

import { describe, expect, it } from "vitest"
import { runPool } from "./pool.ts"

/** A task that finishes when the test says so, recording how many run at once. */
const gated = () => {
  const releases = new Map<number, { ok: () => void; fail: (e: Error) => void }>()
  let running = 0
  let most = 0
  const started: Array<number> = []
  const task = (n: number) =>
    new Promise<void>((ok, fail) => {
      running++
      most = Math.max(most, running)
      started.push(n)
      releases.set(n, { ok: () => (running--, ok()), fail: (e) => (running--, fail(e)) })
    })
  return { task, releases, started, most: () => most }
}
const tick = () => new Promise((r) => setTimeout(r, 0))

describe("runPool", () => {
  it("runs every item, never more than the width at once", async () => {
    const g = gated()
    const done = runPool([1, 2, 3, 4, 5, 6], 4, g.task)
    await tick()
    expect(g.started).toEqual([1, 2, 3, 4])
    for (let n = 1; n <= 6; n++) {
      g.releases.get(n)!.ok()
      await tick()
    }
    await done
    expect(g.started).toEqual([1, 2, 3, 4, 5, 6])
    expect(g.most()).toBe(4)
  })

  it("starts nothing after a failure, lets the running finish, then throws the first failure", async () => {
    const g = gated()
    const done = runPool([1, 2, 3, 4], 2, g.task)
    const outcome = done.then(() => "resolved", (e: Error) => e.message)
    await tick()
    g.releases.get(1)!.fail(new Error("first"))
    await tick()
    expect(g.started).toEqual([1, 2])
    g.releases.get(2)!.fail(new Error("second"))
    expect(await outcome).toBe("first")
    expect(g.started).toEqual([1, 2])
  })

  it("refuses a width below one", async () => {
    await expect(runPool([1], 0, async () => {})).rejects.toThrow("width of 1 or more")
  })
})

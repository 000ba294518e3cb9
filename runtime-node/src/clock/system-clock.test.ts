import { Clock } from "@cairn/core"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { SystemClockLive } from "./system-clock.ts"

const run = <A>(effect: Effect.Effect<A, never, Clock>) => Effect.runPromise(Effect.provide(effect, SystemClockLive))

describe("system clock", () => {
  it("monotonic time never goes backwards and a sleep moves it forward", async () => {
    const readings = await run(
      Effect.gen(function*() {
        const clock = yield* Clock
        const out: Array<number> = []
        for (let i = 0; i < 1000; i++) out.push(yield* clock.monotonicMs)
        const before = yield* clock.monotonicMs
        yield* clock.sleep(5)
        const after = yield* clock.monotonicMs
        return { out, before, after }
      })
    )
    for (let i = 1; i < readings.out.length; i++) expect(readings.out[i]!).toBeGreaterThanOrEqual(readings.out[i - 1]!)
    // A 5 ms timer cannot fire before 5 ms of monotonic time have passed (libuv
    // rounds timers to whole milliseconds, hence the 1 ms allowance).
    expect(readings.after - readings.before).toBeGreaterThanOrEqual(4)
  })

  it("wall time is epoch milliseconds", async () => {
    const wall = await run(Effect.gen(function*() { return yield* (yield* Clock).wallMs }))
    expect(Number.isInteger(wall)).toBe(true)
    expect(new Date(wall).getUTCFullYear()).toBeGreaterThan(2020)
  })
})

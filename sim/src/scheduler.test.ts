import { Clock, Duration, Effect } from "effect"
import { afterEach, describe, expect, it, vi } from "vitest"
import { SimScheduler } from "./scheduler.ts"

afterEach(() => vi.restoreAllMocks())

describe("SimScheduler", () => {
  it("fires timers in deadline order, ties in the order they were set", () => {
    const scheduler = new SimScheduler()
    const fired: Array<string> = []
    scheduler.setTimer(30, () => fired.push("c"))
    scheduler.setTimer(10, () => fired.push("a1"))
    scheduler.setTimer(10, () => fired.push("a2"))
    scheduler.setTimer(20, () => fired.push("b"))
    expect(scheduler.run({ untilNs: 100 })).toBe("idle")
    expect(fired).toEqual(["a1", "a2", "b", "c"])
    expect(scheduler.now).toBe(100)
  })

  it("does not fire cancelled timers and stops at the deadline", () => {
    const scheduler = new SimScheduler()
    const fired: Array<number> = []
    const cancel = scheduler.setTimer(5, () => fired.push(5))
    scheduler.setTimer(50, () => fired.push(50))
    cancel()
    expect(scheduler.run({ untilNs: 20 })).toBe("deadline")
    expect(fired).toEqual([])
    expect(scheduler.now).toBe(20)
  })

  it("runs Effect fibers on virtual time without touching the host's timers", () => {
    const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout")
    const setImmediateSpy = vi.spyOn(globalThis, "setImmediate")
    const scheduler = new SimScheduler()
    const virtualClock: Clock.Clock = {
      currentTimeMillisUnsafe: () => scheduler.now / 1e6,
      currentTimeMillis: Effect.sync(() => scheduler.now / 1e6),
      currentTimeNanosUnsafe: () => BigInt(scheduler.now),
      currentTimeNanos: Effect.sync(() => BigInt(scheduler.now)),
      monotonicTimeNanosUnsafe: () => BigInt(scheduler.now),
      monotonicTimeNanos: Effect.sync(() => BigInt(scheduler.now)),
      sleep: (duration) =>
        Effect.callback<void>((resume) => {
          const cancel = scheduler.setTimer(Duration.toMillis(duration) * 1e6, () => resume(Effect.void))
          return Effect.sync(cancel)
        })
    }
    const order: Array<string> = []
    // An hour of idle time: one tick a minute on two fibers.
    const ticker = (name: string, offsetMs: number) =>
      Effect.gen(function*() {
        yield* Effect.sleep(offsetMs)
        for (let i = 0; i < 60; i++) {
          yield* Effect.sleep(60_000)
          order.push(`${name}${i}`)
        }
      })
    const fiber = Effect.runFork(
      Effect.all([ticker("a", 0), ticker("b", 1)], { concurrency: "unbounded" }).pipe(
        Effect.provideService(Clock.Clock, virtualClock)
      ),
      { scheduler }
    )
    scheduler.run({ untilNs: 2 * 3600e9 })
    expect(fiber.pollUnsafe()?._tag).toBe("Success")
    expect(scheduler.now).toBe(2 * 3600e9)
    expect(order.length).toBe(120)
    expect(order.slice(0, 4)).toEqual(["a0", "b0", "a1", "b1"])
    expect(setTimeoutSpy).not.toHaveBeenCalled()
    expect(setImmediateSpy).not.toHaveBeenCalled()
  })

  it("stops a run when asked", () => {
    const scheduler = new SimScheduler()
    let count = 0
    const tick = () => {
      count++
      if (count === 3) scheduler.stop()
      scheduler.setTimer(10, tick)
    }
    scheduler.setTimer(10, tick)
    expect(scheduler.run({ untilNs: 1e9 })).toBe("stopped")
    expect(count).toBe(3)
  })
})

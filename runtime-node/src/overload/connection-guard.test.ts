/**
 * The connection cap's rules on stand-in connections: past the cap the
 * oldest idle connection is closed for a newcomer; with none idle the
 * newcomer is closed; a connection that went busy again is not evicted.
 */
import { describe, expect, it } from "vitest"
import { ConnectionGuard } from "./connection-guard.ts"

const conn = (name: string) => {
  const c = { name, destroyed: false, destroy: () => void (c.destroyed = true) }
  return c
}

describe("connection guard", () => {
  it("evicts the oldest idle connection for a newcomer, and refuses it when none is idle", () => {
    const guard = new ConnectionGuard<ReturnType<typeof conn>>(2)
    const [a, b, c, d] = [conn("a"), conn("b"), conn("c"), conn("d")]
    expect(guard.opened(a)).toBe(true)
    expect(guard.opened(b)).toBe(true)
    guard.becameIdle(a)
    guard.becameIdle(b)
    guard.becameBusy(a)
    // b is the only idle one: it makes room for c.
    expect(guard.opened(c)).toBe(true)
    expect([a.destroyed, b.destroyed]).toEqual([false, true])
    guard.closed(b)
    // a and c are busy: d is refused.
    expect(guard.opened(d)).toBe(false)
    expect(d.destroyed).toBe(true)
    expect(guard.stats()).toEqual({ connections: 2, connectionsRefused: 1, idleEvicted: 1 })
  })

  it("evicts in the order connections went idle", () => {
    const guard = new ConnectionGuard<ReturnType<typeof conn>>(2)
    const [a, b, c] = [conn("a"), conn("b"), conn("c")]
    guard.opened(a)
    guard.opened(b)
    guard.becameIdle(b)
    guard.becameIdle(a)
    guard.opened(c)
    expect([a.destroyed, b.destroyed]).toEqual([false, true])
  })

  it("forgets a closed idle connection (it is not evicted again)", () => {
    const guard = new ConnectionGuard<ReturnType<typeof conn>>(1)
    const [a, b] = [conn("a"), conn("b")]
    guard.opened(a)
    guard.becameIdle(a)
    guard.closed(a)
    expect(guard.opened(b)).toBe(true)
    expect(guard.stats()).toEqual({ connections: 1, connectionsRefused: 0, idleEvicted: 0 })
    expect(() => new ConnectionGuard(0)).toThrow()
  })
})

/**
 * The console's session store on a clock the test moves: sessions end when
 * idle too long and at their absolute deadline however busy, an ended
 * session is told apart from an unknown one (so the page can say
 * "expired"), signing out ends it, and the store never holds more than its
 * bound.
 */
import { describe, expect, it } from "vitest"
import { makeSessionStore, sameToken } from "./sessions.ts"

const alice = { accessKey: "AKALICE", secretKey: "secret", user: "alice", admin: false }

describe("console sessions", () => {
  it("ends a session left idle, and says it expired", () => {
    let now = 1_000
    const store = makeSessionStore(() => now, { idleMs: 100, absoluteMs: 10_000, maxSessions: 10 })
    const s = store.create(alice)
    now += 99
    expect(store.lookup(s.id).ok).toBe(true)
    now += 99 // renewed by the lookup above
    expect(store.lookup(s.id).ok).toBe(true)
    now += 100
    expect(store.lookup(s.id)).toEqual({ ok: false, reason: "expired" })
    expect(store.lookup("never-issued")).toEqual({ ok: false, reason: "missing" })
    expect(store.lookup(undefined)).toEqual({ ok: false, reason: "missing" })
  })

  it("ends a busy session at its absolute deadline", () => {
    let now = 0
    const store = makeSessionStore(() => now, { idleMs: 100, absoluteMs: 250, maxSessions: 10 })
    const s = store.create(alice)
    for (now = 50; now < 250; now += 50) expect(store.lookup(s.id).ok).toBe(true)
    expect(store.lookup(s.id)).toEqual({ ok: false, reason: "expired" })
  })

  it("signs out, issues distinct ids and CSRF tokens, and stays within its bound", () => {
    const store = makeSessionStore(() => 0, { idleMs: 100, absoluteMs: 1000, maxSessions: 3 })
    const sessions = Array.from({ length: 5 }, () => store.create(alice))
    expect(new Set(sessions.map((s) => s.id)).size).toBe(5)
    expect(new Set(sessions.map((s) => s.csrfToken)).size).toBe(5)
    expect(sessions.every((s) => s.id !== s.csrfToken && s.id.length >= 43)).toBe(true)
    expect(store.size()).toBe(3)
    const last = sessions[4]!
    store.end(last.id)
    expect(store.lookup(last.id).ok).toBe(false)
  })

  it("compares tokens exactly", () => {
    expect(sameToken("abc", "abc")).toBe(true)
    expect(sameToken("abc", "abd")).toBe(false)
    expect(sameToken("abc", "abcd")).toBe(false)
  })
})

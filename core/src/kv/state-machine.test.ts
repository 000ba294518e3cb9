import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { InvariantViolation } from "../invariant/invariant.ts"
import { encodeSessionCommand, MAX_RANGE_LIMIT, type KvCommand, type KvResult } from "./command.ts"
import { MAX_VALUE_BYTES } from "./keys.ts"
import { KvSnapshotError, KvStateMachine } from "./state-machine.ts"

const text = new TextEncoder()
const v = (s: string) => text.encode(s)

/** Drives a machine as Raft would: one client, increasing seq, increasing indexes. */
const driver = (machine = new KvStateMachine(), clientId = "c1") => {
  let index = machine.appliedIndex
  let seq = 0
  return {
    machine,
    run: (command: KvCommand): KvResult => machine.apply(++index, encodeSessionCommand({ clientId, seq: ++seq, command })),
    get index() {
      return index
    }
  }
}

describe("KvStateMachine operations", () => {
  it("put returns the entry's index as the key's new revision; get returns value and revision", () => {
    const m = new KvStateMachine()
    expect(m.apply(5, encodeSessionCommand({ clientId: "a", seq: 1, command: { op: "put", key: "k", value: v("one") } }))).toEqual({
      type: "put",
      revision: 5
    })
    expect(m.get("k")).toEqual({ type: "get", found: true, value: v("one"), revision: 5 })
    expect(m.apply(9, encodeSessionCommand({ clientId: "a", seq: 2, command: { op: "put", key: "k", value: v("two") } }))).toEqual({
      type: "put",
      revision: 9
    })
    expect(m.get("k")).toEqual({ type: "get", found: true, value: v("two"), revision: 9 })
    expect(m.get("other")).toEqual({ type: "get", found: false, value: new Uint8Array(0), revision: 0 })
    expect(m.appliedIndex).toBe(9)
  })

  it("get through the log sees the state at its index", () => {
    const d = driver()
    d.run({ op: "put", key: "k", value: v("x") })
    expect(d.run({ op: "get", key: "k" })).toEqual({ type: "get", found: true, value: v("x"), revision: 1 })
    expect(d.run({ op: "get", key: "nope" })).toMatchObject({ type: "get", found: false, revision: 0 })
  })

  it("delete removes the key and says whether it existed", () => {
    const d = driver()
    d.run({ op: "put", key: "k", value: v("x") })
    expect(d.run({ op: "delete", key: "k" })).toEqual({ type: "delete", revision: 2, existed: true })
    expect(d.machine.get("k").found).toBe(false)
    expect(d.run({ op: "delete", key: "k" })).toEqual({ type: "delete", revision: 3, existed: false })
    expect(d.machine.size).toBe(0)
  })

  it("cas succeeds only on the current mod revision and reports it on failure", () => {
    const d = driver()
    d.run({ op: "put", key: "k", value: v("a") }) // revision 1
    expect(d.run({ op: "cas", key: "k", expected: 7, value: v("b") })).toEqual({ type: "cas", ok: false, revision: 1 })
    expect(d.machine.get("k").value).toEqual(v("a"))
    expect(d.run({ op: "cas", key: "k", expected: 1, value: v("b") })).toEqual({ type: "cas", ok: true, revision: 3 })
    expect(d.machine.get("k")).toMatchObject({ value: v("b"), revision: 3 })
    // The old revision no longer matches.
    expect(d.run({ op: "cas", key: "k", expected: 1, value: v("c") })).toEqual({ type: "cas", ok: false, revision: 3 })
  })

  it("cas with 'absent' creates only; a revision on a missing key fails with revision 0", () => {
    const d = driver()
    expect(d.run({ op: "cas", key: "k", expected: 4, value: v("a") })).toEqual({ type: "cas", ok: false, revision: 0 })
    expect(d.run({ op: "cas", key: "k", expected: "absent", value: v("a") })).toEqual({ type: "cas", ok: true, revision: 2 })
    expect(d.run({ op: "cas", key: "k", expected: "absent", value: v("b") })).toEqual({ type: "cas", ok: false, revision: 2 })
    expect(d.machine.get("k").value).toEqual(v("a"))
  })

  it("cas with no value deletes on a match, and keeps the key on a mismatch", () => {
    const d = driver()
    d.run({ op: "put", key: "k", value: v("a") })
    expect(d.run({ op: "cas", key: "k", expected: 99, value: undefined })).toEqual({ type: "cas", ok: false, revision: 1 })
    expect(d.machine.get("k").found).toBe(true)
    expect(d.run({ op: "cas", key: "k", expected: 1, value: undefined })).toEqual({ type: "cas", ok: true, revision: 3 })
    expect(d.machine.get("k").found).toBe(false)
  })

  it("range returns [start, end) in code point order with revisions", () => {
    const d = driver()
    // "\u{1F600}" is a surrogate pair: UTF-16 order puts it before "\uFFFD", code point order after.
    for (const key of ["b", "a", "d", "c", "\u{1F600}", "\uFFFD", "ab"]) d.run({ op: "put", key, value: v(key) })
    const keys = (r: KvResult) => (r.type === "range" ? r.items.map((i) => i.key) : r)
    expect(keys(d.machine.range("", undefined, 100))).toEqual(["a", "ab", "b", "c", "d", "\uFFFD", "\u{1F600}"])
    expect(keys(d.machine.range("ab", "d", 100))).toEqual(["ab", "b", "c"])
    expect(keys(d.machine.range("aa", "c", 100))).toEqual(["ab", "b"])
    expect(keys(d.machine.range("d", "b", 100))).toEqual([])
    expect(keys(d.machine.range("e", undefined, 100))).toEqual(["\uFFFD", "\u{1F600}"])
    const r = d.run({ op: "range", start: "b", end: "c", limit: 10 })
    expect(r).toEqual({ type: "range", items: [{ key: "b", value: v("b"), revision: 1 }], more: false })
  })

  it("range honours the limit and sets `more` only when keys were left out", () => {
    const d = driver()
    for (const key of ["a", "b", "c", "d"]) d.run({ op: "put", key, value: v(key) })
    expect(d.machine.range("a", undefined, 2)).toMatchObject({ items: [{ key: "a" }, { key: "b" }], more: true })
    expect(d.machine.range("a", undefined, 4)).toMatchObject({ more: false })
    expect(d.machine.range("a", "c", 2)).toMatchObject({ items: [{ key: "a" }, { key: "b" }], more: false })
    expect(d.machine.range("a", "d", 2)).toMatchObject({ more: true })
    expect(d.machine.range("a", undefined, 0)).toMatchObject({ type: "error", code: "bad-command" })
    expect(d.machine.range("a", undefined, MAX_RANGE_LIMIT + 1)).toMatchObject({ type: "error", code: "bad-command" })
  })

  it("range stops after about 4 MiB of data and says there is more", () => {
    const d = driver()
    for (let i = 0; i < 6; i++) d.run({ op: "put", key: `k${i}`, value: new Uint8Array(MAX_VALUE_BYTES) })
    const r = d.machine.range("", undefined, 100)
    expect(r.type === "range" && r.items.length).toBe(4)
    expect(r).toMatchObject({ more: true })
  })

  it("reads return copies: mutating a result does not change the store", () => {
    const d = driver()
    d.run({ op: "put", key: "k", value: v("abc") })
    d.machine.get("k").value[0] = 0
    const r = d.machine.range("", undefined, 1)
    if (r.type === "range") r.items[0]!.value[1] = 0
    expect(d.machine.get("k").value).toEqual(v("abc"))
  })

  it("size limits give typed errors and change nothing", () => {
    const d = driver()
    expect(d.run({ op: "put", key: "k", value: new Uint8Array(MAX_VALUE_BYTES + 1) })).toMatchObject({
      type: "error",
      code: "value-too-large"
    })
    expect(d.run({ op: "put", key: "x".repeat(4097), value: v("") })).toMatchObject({ code: "key-too-large" })
    expect(d.run({ op: "put", key: "", value: v("") })).toMatchObject({ code: "bad-command" })
    expect(d.machine.size).toBe(0)
  })

  it("undecodable bytes give bad-command and change nothing but the applied index", () => {
    const a = driver()
    const b = driver()
    for (const d of [a, b]) d.run({ op: "put", key: "k", value: v("x") })
    for (const bytes of [new Uint8Array(0), new Uint8Array([7, 1, 2]), new Uint8Array([1, 0, 0, 0, 9])]) {
      expect(a.machine.apply(a.machine.appliedIndex + 1, bytes)).toMatchObject({ type: "error", code: "bad-command" })
    }
    b.machine.advanceTo(4)
    expect(a.machine.appliedIndex).toBe(4)
    expect(a.machine.snapshot()).toEqual(b.machine.snapshot())
  })

  it("an empty client id is a bad command and opens no session", () => {
    const m = new KvStateMachine()
    expect(m.apply(1, encodeSessionCommand({ clientId: "", seq: 1, command: { op: "put", key: "k", value: v("") } }))).toMatchObject({
      code: "bad-command"
    })
    expect(m.size).toBe(0)
    expect(m.sessionCount).toBe(0)
  })

  it("asserts that indexes strictly increase", () => {
    const m = new KvStateMachine()
    m.advanceTo(3)
    expect(() => m.apply(3, new Uint8Array(0))).toThrow(InvariantViolation)
    expect(() => m.advanceTo(2)).toThrow(InvariantViolation)
  })
})

describe("KvStateMachine sessions", () => {
  const put = (clientId: string, seq: number, key: string, value: string) =>
    encodeSessionCommand({ clientId, seq, command: { op: "put", key, value: v(value) } })

  it("a retry with the same seq is not applied again and returns the cached result", () => {
    const m = new KvStateMachine()
    expect(m.apply(1, put("c", 1, "k", "a"))).toEqual({ type: "put", revision: 1 })
    m.apply(2, put("d", 1, "k", "b"))
    // c's retry of seq 1 must not overwrite d's later write.
    expect(m.apply(3, put("c", 1, "k", "a"))).toEqual({ type: "put", revision: 1 })
    expect(m.get("k")).toMatchObject({ value: v("b"), revision: 2 })
  })

  it("a lower seq is stale and changes nothing; a higher one applies", () => {
    const m = new KvStateMachine()
    m.apply(1, put("c", 5, "k", "a"))
    expect(m.apply(2, put("c", 4, "k", "z"))).toMatchObject({ type: "error", code: "stale-sequence" })
    expect(m.get("k").value).toEqual(v("a"))
    expect(m.apply(3, put("c", 9, "k", "b"))).toEqual({ type: "put", revision: 3 })
    expect(m.lastSeq("c")).toBe(9)
  })

  it("a retried cas keeps its original outcome even though the state moved on", () => {
    const m = new KvStateMachine()
    const cas = encodeSessionCommand({ clientId: "c", seq: 1, command: { op: "cas", key: "k", expected: "absent", value: v("a") } })
    expect(m.apply(1, cas)).toEqual({ type: "cas", ok: true, revision: 1 })
    expect(m.apply(2, cas)).toEqual({ type: "cas", ok: true, revision: 1 })
    expect(m.get("k").revision).toBe(1)
  })

  it("a retried read runs again and sees the current state", () => {
    const m = new KvStateMachine()
    const get = encodeSessionCommand({ clientId: "r", seq: 1, command: { op: "get", key: "k" } })
    expect(m.apply(1, get)).toMatchObject({ found: false })
    m.apply(2, put("w", 1, "k", "x"))
    expect(m.apply(3, get)).toMatchObject({ found: true, value: v("x"), revision: 2 })
  })

  it("a seq reused for a different command never applies the new one", () => {
    const m = new KvStateMachine()
    const get = encodeSessionCommand({ clientId: "c", seq: 1, command: { op: "get", key: "k" } })
    m.apply(1, get)
    expect(m.apply(2, put("c", 1, "k", "x"))).toMatchObject({ type: "error", code: "bad-command" })
    const badRange = encodeSessionCommand({ clientId: "c", seq: 1, command: { op: "range", start: "", end: undefined, limit: 0 } })
    expect(m.apply(3, badRange)).toMatchObject({ type: "error", code: "bad-command" })
    expect(m.size).toBe(0)
    m.apply(4, put("c", 2, "k", "y"))
    expect(m.apply(5, get)).toMatchObject({ type: "error", code: "stale-sequence" })
    expect(m.apply(6, encodeSessionCommand({ clientId: "c", seq: 2, command: { op: "delete", key: "k" } }))).toEqual({
      type: "put",
      revision: 4
    })
    expect(m.get("k").found).toBe(true)
  })

  it("evicts the least recently used session when full; an evicted client's retry applies again", () => {
    const m = new KvStateMachine({ sessionCapacity: 2 })
    m.apply(1, put("a", 1, "ka", "1"))
    m.apply(2, put("b", 1, "kb", "1"))
    m.apply(3, put("a", 1, "ka", "1")) // a's retry refreshes a: b is now the oldest
    m.apply(4, put("c", 1, "kc", "1")) // evicts b
    expect(m.sessionCount).toBe(2)
    expect(m.lastSeq("b")).toBeUndefined()
    expect(m.lastSeq("a")).toBe(1)
    // The documented limit: b's retry is not recognised and applies a second time.
    expect(m.apply(5, put("b", 1, "kb", "1"))).toEqual({ type: "put", revision: 5 })
    expect(m.lastSeq("a")).toBeUndefined() // a was now the least recently used
  })
})

describe("KvStateMachine snapshots", () => {
  const commandArb: fc.Arbitrary<KvCommand> = (() => {
    const key = fc.constantFrom("a", "b", "c", "d", "e", "\u{1F600}", "\uFFFD")
    const value = fc.uint8Array({ maxLength: 6 })
    return fc.oneof(
      fc.record({ op: fc.constant("put" as const), key, value }),
      fc.record({ op: fc.constant("delete" as const), key }),
      fc.record({
        op: fc.constant("cas" as const),
        key,
        expected: fc.oneof(fc.constant("absent" as const), fc.nat(40)),
        value: fc.option(value, { nil: undefined })
      }),
      fc.record({ op: fc.constant("get" as const), key }),
      fc.record({
        op: fc.constant("range" as const),
        start: fc.constantFrom("", "b", "d"),
        end: fc.option(fc.constantFrom("c", "e", "\u{1F601}"), { nil: undefined }),
        limit: fc.integer({ min: 0, max: 4 })
      })
    )
  })()
  /** Entries as Raft delivers them: a few clients that retry, skip and go back; gaps in indexes; garbage. */
  const entriesArb = fc.array(
    fc.record({
      gap: fc.nat(2),
      clientId: fc.constantFrom("c1", "c2", "c3", "c4"),
      seqStep: fc.integer({ min: -1, max: 2 }),
      command: commandArb,
      garbage: fc.boolean().chain((g) => (g ? fc.uint8Array({ maxLength: 8 }) : fc.constant(undefined)))
    }),
    { maxLength: 60 }
  )
  type Entries = typeof entriesArb extends fc.Arbitrary<infer T> ? T : never
  const toLog = (entries: Entries) => {
    const seqs = new Map<string, number>()
    let index = 0
    return entries.map((e) => {
      index += 1 + e.gap
      const seq = Math.max(0, (seqs.get(e.clientId) ?? 0) + e.seqStep)
      seqs.set(e.clientId, seq)
      return { index, data: e.garbage ?? encodeSessionCommand({ clientId: e.clientId, seq, command: e.command }) }
    })
  }

  it("apply all == apply half, snapshot, restore, apply the rest (results, state and snapshot bytes)", () => {
    fc.assert(
      fc.property(entriesArb, fc.nat(), fc.integer({ min: 1, max: 5 }), (entries, cutAt, capacity) => {
        const log = toLog(entries)
        const cut = log.length === 0 ? 0 : cutAt % (log.length + 1)
        const whole = new KvStateMachine({ sessionCapacity: capacity })
        const wholeResults = log.map((e) => whole.apply(e.index, e.data))
        const first = new KvStateMachine({ sessionCapacity: capacity })
        const results = log.slice(0, cut).map((e) => first.apply(e.index, e.data))
        const restored = KvStateMachine.restore(first.snapshot())
        results.push(...log.slice(cut).map((e) => restored.apply(e.index, e.data)))
        expect(results).toEqual(wholeResults)
        expect(restored.appliedIndex).toBe(whole.appliedIndex)
        expect(restored.range("", undefined, MAX_RANGE_LIMIT)).toEqual(whole.range("", undefined, MAX_RANGE_LIMIT))
        expect(restored.snapshot()).toEqual(whole.snapshot())
      }),
      { numRuns: 300 }
    )
  })

  it("the snapshot comparison above can fail: different histories give different snapshots", () => {
    const a = driver()
    const b = driver()
    a.run({ op: "put", key: "k", value: v("1") })
    b.run({ op: "put", key: "k", value: v("2") })
    expect(a.machine.snapshot()).not.toEqual(b.machine.snapshot())
    const c = driver(new KvStateMachine(), "other")
    c.run({ op: "put", key: "k", value: v("1") })
    expect(a.machine.snapshot()).not.toEqual(c.machine.snapshot()) // sessions are in the snapshot
  })

  it("restore keeps the sessions: a retry after restore still applies once", () => {
    const m = new KvStateMachine()
    const cmd = encodeSessionCommand({ clientId: "c", seq: 1, command: { op: "put", key: "k", value: v("a") } })
    m.apply(1, cmd)
    const r = KvStateMachine.restore(m.snapshot())
    r.apply(2, encodeSessionCommand({ clientId: "d", seq: 1, command: { op: "put", key: "k", value: v("b") } }))
    expect(r.apply(3, cmd)).toEqual({ type: "put", revision: 1 })
    expect(r.get("k").value).toEqual(v("b"))
  })

  it("restore rejects every single-bit flip and every truncation with KvSnapshotError", () => {
    const d = driver()
    d.run({ op: "put", key: "k", value: v("value") })
    d.run({ op: "get", key: "k" })
    const snap = d.machine.snapshot()
    expect(KvStateMachine.restore(snap).snapshot()).toEqual(snap)
    for (let bit = 0; bit < snap.length * 8; bit++) {
      const bad = snap.slice()
      bad[bit >> 3] = bad[bit >> 3]! ^ (1 << (bit & 7))
      expect(() => KvStateMachine.restore(bad)).toThrow(KvSnapshotError)
    }
    for (let n = 0; n < snap.length; n++) expect(() => KvStateMachine.restore(snap.subarray(0, n))).toThrow(KvSnapshotError)
  })

  it("restore throws nothing but KvSnapshotError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          KvStateMachine.restore(bytes)
        } catch (error) {
          if (!(error instanceof KvSnapshotError)) throw error
        }
      }),
      { numRuns: 1000 }
    )
  })
})

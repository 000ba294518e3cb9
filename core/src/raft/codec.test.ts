import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { nodeId } from "../node/node-id.ts"
import { decodeConfChange, decodeHardState, decodeMessage, encodeConfChange, encodeHardState, encodeMessage, RaftDecodeError, Reader, Writer } from "./codec.ts"
import type { Entry, Message } from "./types.ts"

const id = fc.constantFrom(...["n1", "n2", "n3", "node-with-a-longer-name"].map(nodeId))
const uint = fc.nat({ max: Number.MAX_SAFE_INTEGER })
const bytes = fc.uint8Array({ maxLength: 64 })
const entry: fc.Arbitrary<Entry> = fc.record({ term: uint, index: uint, kind: fc.constantFrom("command" as const, "config" as const, "noop" as const), data: bytes })
const config = fc.record({ voters: fc.array(id, { maxLength: 3 }), outgoing: fc.array(id, { maxLength: 3 }), learners: fc.array(id, { maxLength: 2 }) })
const base = { from: id, to: id, term: uint }

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ ...base, type: fc.constant("vote" as const), preVote: fc.boolean(), transfer: fc.boolean(), lastIndex: uint, lastTerm: uint }),
  fc.record({ ...base, type: fc.constant("vote-response" as const), preVote: fc.boolean(), granted: fc.boolean() }),
  fc.record({ ...base, type: fc.constant("append" as const), prevIndex: uint, prevTerm: uint, entries: fc.array(entry, { maxLength: 4 }), commit: uint }),
  fc.record({ ...base, type: fc.constant("append-response" as const), success: fc.boolean(), index: uint, hintIndex: uint, hintTerm: uint }),
  fc.record({ ...base, type: fc.constant("heartbeat" as const), commit: uint, readRound: uint }),
  fc.record({ ...base, type: fc.constant("heartbeat-response" as const), readRound: uint }),
  fc.record({ ...base, type: fc.constant("snapshot" as const), meta: fc.record({ index: uint, term: uint, config }), offset: uint, total: uint, chunk: bytes }),
  fc.record({ ...base, type: fc.constant("snapshot-response" as const), index: uint, nextOffset: fc.integer({ min: -1, max: 1 << 30 }), reject: fc.boolean() }),
  fc.record({ ...base, type: fc.constant("timeout-now" as const) }),
  fc.record({ ...base, type: fc.constant("propose" as const), commands: fc.array(bytes, { maxLength: 3 }) }),
  fc.record({ ...base, type: fc.constant("read-index" as const), context: uint }),
  fc.record({ ...base, type: fc.constant("read-index-response" as const), context: uint, index: uint }),
  fc.record({ ...base, type: fc.constant("repair" as const), indexes: fc.array(uint, { maxLength: 4 }) }),
  fc.record({ ...base, type: fc.constant("repair-response" as const), commit: fc.nat(), lastIndex: fc.nat(), lastTerm: fc.nat(), entries: fc.array(entry, { maxLength: 3 }) })
)

describe("Raft codec", () => {
  it("every message survives an encode/decode round trip", () => {
    fc.assert(fc.property(message, (m) => {
      expect(decodeMessage(encodeMessage(m))).toEqual(m)
    }), { numRuns: 2000 })
  })

  it("any flipped bit or truncation is a RaftDecodeError, never a different message", () => {
    fc.assert(fc.property(message, fc.nat(), fc.nat({ max: 7 }), (m, at, bit) => {
      const bytes = encodeMessage(m)
      const flipped = bytes.slice()
      flipped[at % flipped.length]! ^= 1 << bit
      expect(() => decodeMessage(flipped)).toThrow(RaftDecodeError)
      expect(() => decodeMessage(bytes.subarray(0, at % bytes.length))).toThrow(RaftDecodeError)
    }), { numRuns: 2000 })
  })

  it("random bytes never decode into a message", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
      expect(() => decodeMessage(junk)).toThrow(RaftDecodeError)
    }))
  })

  it("strings keep every code point, a leading U+FEFF included", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme" }), (text) => {
      for (const s of [text, `\uFEFF${text}`]) {
        const w = new Writer()
        w.string(s)
        expect(new Reader(w.finish()).string()).toBe(s)
      }
    }))
  })

  it("conf changes and hard states round trip", () => {
    const change = { kind: "enter-joint" as const, steps: [{ op: "add-voter" as const, node: nodeId("n4") }, { op: "remove" as const, node: nodeId("n1") }] }
    expect(decodeConfChange(encodeConfChange(change))).toEqual(change)
    expect(decodeConfChange(encodeConfChange({ kind: "leave-joint" }))).toEqual({ kind: "leave-joint" })
    const hs = { term: 7, vote: nodeId("n2"), commit: 41 }
    expect(decodeHardState(encodeHardState(hs))).toEqual(hs)
    expect(decodeHardState(encodeHardState({ term: 1, vote: undefined, commit: 0 }))).toEqual({ term: 1, vote: undefined, commit: 0 })
  })
})

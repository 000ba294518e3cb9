import { describe, expect, it } from "vitest"
import { InvariantViolation } from "../invariant/invariant.ts"
import { checkState, recoveredState } from "./writer.ts"

const segmentBytes = 16 * 1024
const fresh = () =>
  recoveredState(
    { version: 1, generation: 0, firstSeq: 1, first: { segment: 1, offset: 0 }, durableSeq: 2, durable: { segment: 1, offset: 200 }, segmentBytes },
    {
      slots: [{ segment: 1, offset: 0, frameBytes: 100 }, { segment: 1, offset: 100, frameBytes: 100 }],
      lastSeq: 2,
      damage: [],
      end: { segment: 1, offset: 200 },
      tailRecords: 0
    }
  )

describe("the WAL writer's state invariants", () => {
  it("hold for a recovered log", () => {
    const st = fresh()
    expect(() => checkState(st, segmentBytes)).not.toThrow()
    expect([st.firstSeq, st.durableSeq, st.writtenSeq, st.nextSeq]).toEqual([1, 2, 2, 3])
  })

  it("refuse a durable end past what was written", () => {
    const st = fresh()
    st.durableSeq = 3
    expect(() => checkState(st, segmentBytes)).toThrow(InvariantViolation)
  })

  it("refuse a queue that does not hold exactly the records between written and next", () => {
    const st = fresh()
    st.nextSeq = 5 // two appends assigned, none queued
    expect(() => checkState(st, segmentBytes)).toThrow(InvariantViolation)
  })

  it("refuse a slot count that does not match the written records", () => {
    const st = fresh()
    st.slots.pop()
    expect(() => checkState(st, segmentBytes)).toThrow(InvariantViolation)
  })

  it("refuse a durable end past the write position", () => {
    const st = fresh()
    st.curOffset = 100
    expect(() => checkState(st, segmentBytes)).toThrow(InvariantViolation)
  })

  it("are not checked once the log is closed (its appends were dropped)", () => {
    const st = fresh()
    st.nextSeq = 5
    st.closed = true
    expect(() => checkState(st, segmentBytes)).not.toThrow()
  })
})

import { describe, expect, it } from "vitest"
import { InvariantViolation } from "../invariant/invariant.ts"
import {
  acknowledged,
  appendSent,
  becomeProbe,
  becomeReplicate,
  becomeSnapshot,
  freeInflight,
  freeOldestInflight,
  inflightFull,
  lowerMatchForDamage,
  newProgress,
  snapshotDone
} from "./progress.ts"

const limits = { maxInflightMessages: 2, maxInflightBytes: 100 }

describe("Progress", () => {
  it("probes, then pipelines once the follower acknowledges, within the window", () => {
    const pr = newProgress(10)
    expect(pr).toMatchObject({ match: 0, next: 11, state: "probe" })
    appendSent(pr, { last: 11, bytes: 5 }, limits)
    expect(pr.probeSent).toBe(true)
    expect(pr.inflight).toEqual([]) // a probe takes no slot
    acknowledged(pr, 11)
    becomeReplicate(pr)
    expect(pr).toMatchObject({ match: 11, next: 12, state: "replicate" })
    appendSent(pr, { last: 13, bytes: 60 }, limits)
    appendSent(pr, { last: 15, bytes: 60 }, limits)
    expect(pr.next).toBe(16)
    expect(inflightFull(pr, limits)).toBe(true)
    freeInflight(pr, 13)
    expect(pr.inflight).toEqual([{ last: 15, bytes: 60 }])
    expect(pr.inflightBytes).toBe(60)
    freeOldestInflight(pr)
    expect(pr.inflightBytes).toBe(0)
  })

  it("a rejection probes again with an empty window", () => {
    const pr = newProgress(10)
    acknowledged(pr, 5)
    becomeReplicate(pr)
    appendSent(pr, { last: 8, bytes: 10 }, limits)
    becomeProbe(pr, 6)
    expect(pr).toMatchObject({ state: "probe", next: 6, probeSent: false, inflight: [], inflightBytes: 0 })
  })

  it("a snapshot sent and installed resumes probing after it", () => {
    const pr = newProgress(10)
    becomeSnapshot(pr, 7)
    expect(pr).toMatchObject({ state: "snapshot", snapshotIndex: 7, snapshotOffset: 0 })
    snapshotDone(pr, 7)
    expect(pr).toMatchObject({ state: "probe", match: 7, next: 8 })
  })

  it("match moves back only for a follower's damaged entry", () => {
    const pr = newProgress(10)
    acknowledged(pr, 9)
    expect(() => acknowledged(pr, 4)).toThrow(InvariantViolation)
    lowerMatchForDamage(pr, 4)
    expect(pr.match).toBe(4)
    expect(() => lowerMatchForDamage(pr, 6)).toThrow(InvariantViolation)
  })

  it("refuses a state where match is not below next, or the window overflows", () => {
    const pr = newProgress(10)
    acknowledged(pr, 5)
    expect(() => becomeProbe(pr, 5)).toThrow(InvariantViolation)
    const full = newProgress(10)
    acknowledged(full, 10)
    becomeReplicate(full)
    appendSent(full, { last: 11, bytes: 1 }, limits)
    appendSent(full, { last: 12, bytes: 1 }, limits)
    // The caller checks inflightFull first; sending past it is a bug.
    expect(() => appendSent(full, { last: 13, bytes: 1 }, limits)).toThrow(InvariantViolation)
  })
})

import { describe, expect, it } from "vitest"
import { nodeId } from "../node/node-id.ts"
import { ReadOnly } from "./read-only.ts"

const [n1, n2, n3] = [nodeId("n1"), nodeId("n2"), nodeId("n3")]
const majority = (acks: ReadonlySet<unknown>) => acks.size >= 2

describe("ReadOnly", () => {
  it("serves a round's reads at its commit index once a quorum answers it or a later round", () => {
    const reads = new ReadOnly(n1, 8)
    const first = reads.startRoundFor({ context: 1, from: n1 }, 5, 0)
    const second = reads.startRoundFor({ context: 2, from: n2 }, 6, 1)
    expect(second).toBeGreaterThan(first)
    // An answer to the first round confirms only that one.
    expect(reads.acknowledge(n3, first, majority)).toEqual([{ context: 1, from: n1, index: 5 }])
    expect(reads.acknowledge(n3, second, majority)).toEqual([{ context: 2, from: n2, index: 6 }])
    expect(reads.acknowledge(n2, second, majority)).toEqual([])
  })

  it("the lease runs from the confirmed round's start and only moves forward", () => {
    const reads = new ReadOnly(n1, 8)
    const early = reads.startRound(5, 10)
    const late = reads.startRound(5, 20)
    expect(reads.leaseValid(10)).toBe(false)
    reads.acknowledge(n2, late, majority)
    expect(reads.leaseValid(27)).toBe(true)
    expect(reads.leaseValid(28)).toBe(false)
    // A late answer to an older round does not shorten it (it was confirmed already, too).
    expect(reads.acknowledge(n3, early, majority)).toEqual([])
    expect(reads.leaseValid(27)).toBe(true)
    reads.reset()
    expect(reads.leaseValid(0)).toBe(false)
  })

  it("holds reads until the leader commits in its term, then hands them back once", () => {
    const reads = new ReadOnly(n1, 8)
    reads.waitForCommit({ context: 7, from: n2 })
    expect(reads.takeWaitingForCommit()).toEqual([{ context: 7, from: n2 }])
    expect(reads.takeWaitingForCommit()).toEqual([])
  })
})

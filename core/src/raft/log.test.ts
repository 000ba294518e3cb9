import { describe, expect, it } from "vitest"
import { RaftLog } from "./log.ts"
import type { Entry } from "./types.ts"

const entry = (index: number, term: number): Entry => ({ index, term, kind: "command", data: new Uint8Array([index, term]) })
const terms = (log: RaftLog) => Array.from({ length: log.lastIndex() }, (_, i) => log.term(i + 1))

describe("RaftLog.appendFromLeader over holes", () => {
  it("a filled hole whose term was lost drops the rest of another branch after it", () => {
    // Entries 3 and 4 came from a term-3 leader that lost; the term-4 leader's entry 3 differs.
    const log = RaftLog.restore(undefined, [entry(1, 1), entry(2, 1), entry(3, 3), entry(4, 3)], 2)
    log.markDamaged(3, undefined)
    log.appendFromLeader([entry(3, 4)])
    // Keeping (4, 3) after (3, 4) would make the log vouch for a branch it is not on.
    expect(terms(log)).toEqual([1, 1, 4])
  })

  it("a hole whose metadata vouches for another term is a conflict, not a fill", () => {
    const log = RaftLog.restore(undefined, [entry(1, 1), entry(2, 1), entry(3, 3), entry(4, 3)], 2)
    log.markDamaged(3, 3)
    log.appendFromLeader([entry(3, 4)])
    expect(terms(log)).toEqual([1, 1, 4])
    expect(log.hasDamage()).toBe(false)
  })

  it("a hole filled with the same branch keeps what follows", () => {
    const log = RaftLog.restore(undefined, [entry(1, 1), entry(2, 1), entry(3, 3), entry(4, 3)], 2)
    log.markDamaged(3, undefined)
    log.appendFromLeader([entry(3, 3)])
    expect(terms(log)).toEqual([1, 1, 3, 3])
  })

  it("a lost-term hole at the end of a batch, followed by a later term, waits for a batch that reaches past it", () => {
    // Entry 3 (lost term, say 2) was followed by a term-3 leader's entry 4 on that branch. The
    // term-4 leader's entry 3 is of term 2 too, maybe another one: (4, 3) would vouch for
    // nothing, yet it may be committed (if our lost entry was the leader's and we acknowledged 4).
    const log = RaftLog.restore(undefined, [entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 3)], 2)
    log.markDamaged(3, undefined)
    expect(log.appendFromLeader([entry(3, 2)])).toBe(0)
    expect(log.damagedIndexes()).toEqual([3])
    expect(log.term(4)).toBe(3)
    // The next batch reaches past it: (4, 3) matches, so the logs agree through 4.
    expect(log.appendFromLeader([entry(3, 2), entry(4, 3)])).toBe(2)
    expect(terms(log)).toEqual([1, 1, 2, 3])
    // Or it conflicts: the suffix was another branch's, and goes.
    const other = RaftLog.restore(undefined, [entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 3)], 2)
    other.markDamaged(3, undefined)
    expect(other.appendFromLeader([entry(3, 2), entry(4, 4)])).toBe(2)
    expect(terms(other)).toEqual([1, 1, 2, 4])
  })

  it("a run of lost-term holes at the end of a batch waits as a whole, not only its last entry", () => {
    const log = RaftLog.restore(undefined, [entry(1, 1), entry(2, 2), entry(3, 2), entry(4, 3)], 1)
    log.markDamaged(2, undefined)
    log.markDamaged(3, undefined)
    // Filling 2 alone, with 3 still a hole and (4, 3) after it, would vouch for nothing either.
    expect(log.appendFromLeader([entry(2, 2), entry(3, 2)])).toBe(0)
    expect(log.damagedIndexes()).toEqual([2, 3])
    expect(log.appendFromLeader([entry(2, 2), entry(3, 2), entry(4, 3)])).toBe(3)
    expect(log.hasDamage()).toBe(false)
  })

  it("an intact match at the end of the batch vouches for what follows", () => {
    const log = RaftLog.restore(undefined, [entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 3)], 2)
    log.markDamaged(2, undefined)
    log.appendFromLeader([entry(2, 1), entry(3, 2)])
    expect(terms(log)).toEqual([1, 1, 2, 3])
  })
})

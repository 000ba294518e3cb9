import { describe, expect, it } from "vitest"
import { nodeId } from "@cairn/core"
import { initialConfig } from "@cairn/core/raft/membership"
import { defaultRaftOptions, Raft } from "@cairn/core/raft/raft"
import type { Entry } from "@cairn/core/raft/types"
import { RaftInvariants } from "./invariants.ts"

const [n1, n2, n3] = [nodeId("n1"), nodeId("n2"), nodeId("n3")]
const entry = (index: number, term: number): Entry => ({ index, term, kind: "command", data: Raft.command(`e${index}t${term}`) })
const node = (id: typeof n1, entries: ReadonlyArray<Entry>, commit: number, snapshotAt?: { index: number; term: number }) =>
  new Raft({ ...defaultRaftOptions(id, () => 0), preVote: false }, {
    hardState: { term: 3, vote: undefined, commit },
    snapshot: snapshotAt === undefined ? undefined : { meta: { ...snapshotAt, config: initialConfig([n1, n2, n3]) }, data: new Uint8Array(0) },
    entries,
    config: initialConfig([n1, n2, n3]),
    damaged: []
  })

describe("Raft invariants", () => {
  it("a commit index or a snapshot boundary on another entry than the one applied there is a violation, even with nothing applied through it", () => {
    const violations: Array<string> = []
    const observer = new RaftInvariants((v) => violations.push(v)).observer()
    observer.afterReady(node(n1, [entry(1, 1), entry(2, 1)], 2), [entry(1, 1), entry(2, 1)])
    expect(violations).toEqual([])
    // Same terms: fine.
    observer.afterReady(node(n2, [entry(1, 1), entry(2, 1)], 2), [])
    expect(violations).toEqual([])
    // n3's commit index sits on a term-2 entry at 2, where n1 applied term 1.
    observer.afterReady(node(n3, [entry(1, 1), entry(2, 2)], 2), [])
    expect(violations).toEqual([expect.stringContaining("n3's commit index is (2, term 2)")])
    // A snapshot boundary is checked the same way.
    observer.afterReady(node(n2, [], 2, { index: 2, term: 2 }), [])
    expect(violations[1]).toContain("n2's snapshot boundary is (2, term 2)")
  })
})

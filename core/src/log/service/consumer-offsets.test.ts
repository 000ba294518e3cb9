import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { localKv } from "../../kv/state-machine-kv.test-support.ts"
import { makeConsumerOffsets } from "./consumer-offsets.ts"

describe("consumer group offsets", () => {
  it("keep a committer's latest commit against a late copy of an earlier one, and let a commit move back", async () => {
    const offsets = makeConsumerOffsets(localKv())
    const seen = await Effect.runPromise(
      Effect.gen(function*() {
        const out: Array<number | undefined> = [(yield* offsets.get("g", "t", 0))?.offset]
        yield* offsets.commit("g", "t", 0, { offset: 80, metadata: "", committer: "a", seq: 2 })
        // Commit 1 of the same committer arrives late (a delayed copy, or an attempt overtaken by its retry).
        yield* offsets.commit("g", "t", 0, { offset: 72, metadata: "", committer: "a", seq: 1 })
        out.push((yield* offsets.get("g", "t", 0))?.offset)
        // A later commit may move the offset back (a consumer that seeks), as may another committer.
        yield* offsets.commit("g", "t", 0, { offset: 50, metadata: "seek", committer: "a", seq: 3 })
        out.push((yield* offsets.get("g", "t", 0))?.offset)
        yield* offsets.commit("g", "t", 0, { offset: 10, metadata: "", committer: "b", seq: 1 })
        out.push((yield* offsets.get("g", "t", 0))?.offset)
        out.push((yield* offsets.get("g", "t", 1))?.offset, (yield* offsets.get("h", "t", 0))?.offset)
        return out
      })
    )
    expect(seen).toEqual([undefined, 80, 50, 10, undefined, undefined])
  })

  it("list a group's offsets by topic and partition, not another group's whose name extends it, and remove them", async () => {
    const offsets = makeConsumerOffsets(localKv())
    const seen = await Effect.runPromise(
      Effect.gen(function*() {
        const commit = (group: string, topic: string, partition: number, offset: number) =>
          offsets.commit(group, topic, partition, { offset, metadata: "m", committer: "a", seq: offset })
        yield* commit("g", "t", 0, 5)
        yield* commit("g", "t", 10, 6)
        yield* commit("g", "u", 2, 7)
        yield* commit("g\u0000t", "x", 1, 8) // a group named "g\0t": its keys share the prefix "g\0"
        yield* commit("gh", "t", 0, 9)
        const listed = (yield* offsets.list("g")).map((o) => `${o.topic}/${o.partition}=${o.committed.offset}`)
        yield* offsets.remove("g", "t", 10)
        const after = (yield* offsets.list("g")).map((o) => `${o.topic}/${o.partition}`)
        return { listed, after, other: (yield* offsets.list("g\u0000t")).length }
      })
    )
    expect(seen.listed.sort()).toEqual(["t/0=5", "t/10=6", "u/2=7"])
    expect(seen.after.sort()).toEqual(["t/0", "u/2"])
    expect(seen.other).toBe(1)
  })
})

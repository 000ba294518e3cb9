import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { KvClient } from "../../kv/client.ts"
import { encodeSessionCommand } from "../../kv/command.ts"
import { KvStateMachine } from "../../kv/state-machine.ts"
import { makeConsumerOffsets } from "./consumer-offsets.ts"

/** A KV client over one in-process state machine: every write applies at once. */
const localKv = (): KvClient => {
  const sm = new KvStateMachine()
  let index = 0
  return {
    clientId: "test",
    write: (command) => Effect.sync(() => sm.apply(++index, encodeSessionCommand({ clientId: "test", seq: index, command }))),
    read: (command) => Effect.sync(() => (command.op === "get" ? sm.get(command.key) : sm.range(command.start, command.end, command.limit)))
  }
}

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
})

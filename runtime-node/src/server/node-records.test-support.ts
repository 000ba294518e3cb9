/** A fake KV and a runner for the node-record loops (zones.ts, weights.ts) in tests. */
import type { KvServer } from "@cairn/core"
import { Effect, Fiber } from "effect"

/** A KV with just what node records need: range queries and put/delete submits over one map. */
export const fakeKv = (store: Map<string, Uint8Array>, failWrites = false): Pick<KvServer, "query" | "submit"> => ({
  query: ((q: { readonly start: string; readonly end: string }) =>
    Effect.succeed({
      type: "range",
      more: false,
      items: [...store].filter(([k]) => k >= q.start && k < q.end).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({ key, value, revision: 1 }))
    })) as unknown as KvServer["query"],
  submit: ((c: { readonly command: { readonly op: string; readonly key: string; readonly value?: Uint8Array } }) => {
    if (failWrites) return Effect.fail({ _tag: "NotLeaderError" })
    if (c.command.op === "put") store.set(c.command.key, c.command.value!)
    else store.delete(c.command.key)
    return Effect.succeed({ type: "ok" })
  }) as unknown as KvServer["submit"]
})

/** Runs `sync` for `rounds` refresh rounds (500 ms each), then stops it. */
export const runRounds = (sync: Effect.Effect<never>, rounds: number) =>
  Effect.runPromise(Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(sync)
    yield* Effect.sleep(rounds * 500 + 100)
    yield* Fiber.interrupt(fiber)
  }))

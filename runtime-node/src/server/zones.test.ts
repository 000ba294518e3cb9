import type { KvServer } from "@cairn/core"
import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { makeZones, ZONE_PREFIX } from "./zones.ts"

/** A KV with just what zones need: range queries and put/delete submits over one map. */
const fakeKv = (store: Map<string, Uint8Array>, failWrites = false): Pick<KvServer, "query" | "submit"> => ({
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
const runRounds = (sync: Effect.Effect<never>, rounds: number) =>
  Effect.runPromise(Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(sync)
    yield* Effect.sleep(rounds * 500 + 100)
    yield* Fiber.interrupt(fiber)
  }))

describe("zones", () => {
  it("publishes this node's zone, reads everyone's, and gives members without one their own domain", async () => {
    const store = new Map([[`${ZONE_PREFIX}n2`, new TextEncoder().encode("rack-b")]])
    const zones = makeZones({ self: "n1", zone: "rack-a", requestTimeoutMs: 100 }, fakeKv(store))
    await runRounds(zones.sync, 2)
    expect(new TextDecoder().decode(store.get(`${ZONE_PREFIX}n1`))).toBe("rack-a")
    expect(zones.domainOf("n1")).toBe("zone:rack-a")
    expect(zones.domainOf("n2")).toBe("zone:rack-b")
    // No record: its own domain, which a zone named like it never shares.
    expect(zones.domainOf("n3")).toBe("node:n3")
  })

  it("removes its record when the node runs without --zone, and keeps retrying while writes fail", async () => {
    const store = new Map([[`${ZONE_PREFIX}n1`, new TextEncoder().encode("old")]])
    const failing = makeZones({ self: "n1", zone: "new", requestTimeoutMs: 100 }, fakeKv(store, true))
    await runRounds(failing.sync, 2)
    expect(failing.domainOf("n1")).toBe("zone:old")
    const cleared = makeZones({ self: "n1", zone: undefined, requestTimeoutMs: 100 }, fakeKv(store))
    await runRounds(cleared.sync, 2)
    expect(store.has(`${ZONE_PREFIX}n1`)).toBe(false)
    expect(cleared.domainOf("n1")).toBe("node:n1")
  })
})

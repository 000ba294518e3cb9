import { testServices } from "../index.ts"
import { Cause, Effect, Exit, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import { InvariantViolation } from "@cairn/core/invariant/invariant"
import { nodeId } from "@cairn/core/node/node-id"
import { encodeSessionCommand } from "@cairn/core/kv/command"
import { makeKvServer } from "@cairn/core/kv/server"

const n1 = nodeId("n1")
const turns = (n: number) => Effect.forEach(Array.from({ length: n }), () => Effect.yieldNow, { discard: true })

/**
 * A one-voter KV server that, once it leads, has `command` committed through its Raft node
 * directly; returns how the server's run ended (undefined: still running after many turns).
 */
const runAfterCommitting = (command: Uint8Array) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const server = yield* makeKvServer({ id: n1, voters: [n1], dataDir: "kv" })
        const running = yield* Effect.forkScoped(Effect.exit(server.run))
        for (let i = 0; i < 2_000 && (yield* server.raft.status).role !== "leader"; i++) yield* Effect.yieldNow
        expect((yield* server.raft.status).role).toBe("leader")
        expect(yield* server.raft.propose(command)).toBe("appended")
        return yield* Effect.raceFirst(Fiber.join(running), Effect.as(turns(2_000), undefined))
      })
    ).pipe(Effect.provide(testServices(n1)))
  )

describe("the KV server applying committed entries", () => {
  it("treats a committed command that does not decode as a bug: the server stops with an invariant violation", async () => {
    const exit = await runAfterCommitting(new Uint8Array([0xff, 0x00, 0x13]))
    const defect = exit !== undefined && Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
    expect(defect).toBeInstanceOf(InvariantViolation)
  })

  it("applies a well-formed command and runs on", async () => {
    const exit = await runAfterCommitting(encodeSessionCommand({ clientId: "c1", seq: 1, command: { op: "put", key: "k", value: new Uint8Array([1]) } }))
    expect(exit).toBeUndefined()
  })
})

/**
 * A `KvClient` for code running inside a KV node's own process (the object
 * store, the S3 layer's user records): it submits to the local `KvServer`
 * (a follower forwards to the leader) instead of sending requests over the
 * network, with the same contract as the network client — a retried write
 * keeps its session sequence number, so it applies at most once, and an
 * outcome that cannot be known is `KvAmbiguousError`, never a failure.
 */
import { Effect } from "effect"
import { Clock } from "../clock/clock.ts"
import { Random } from "../random/random.ts"
import { KvAmbiguousError, KvUnavailableError, type KvClient } from "./client.ts"
import type { KvServer } from "./server.ts"

export interface LocalKvClientConfig {
  readonly clientId: string
  /** How long one attempt waits. */
  readonly requestTimeoutMs?: number
  /** How long one operation may take in all, retries included. */
  readonly deadlineMs?: number
}

export const makeLocalKvClient = (server: KvServer, config: LocalKvClientConfig): Effect.Effect<KvClient, never, Clock | Random> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const random = yield* Random
    // Fresh sessions per incarnation: sequence numbers restart at 1.
    const clientId = `${config.clientId}-${(yield* random.nextUint32).toString(36)}`
    const requestTimeoutMs = config.requestTimeoutMs ?? 2_000
    const deadlineMs = config.deadlineMs ?? 10_000
    const backoff = Effect.flatMap(random.nextIntBetween(20, 100), (ms) => clock.sleep(ms))
    // A session allows one write in flight (a lower sequence number arriving after a higher one is
    // refused as stale), and callers here write concurrently: each write takes an idle session from
    // a pool, or opens one, and gives it back when it is done.
    const idle: Array<{ readonly id: string; seq: number }> = []
    let opened = 0

    const write: KvClient["write"] = (command) =>
      Effect.suspend(() => {
        const lease = idle.pop() ?? { id: opened++ === 0 ? clientId : `${clientId}.${opened - 1}`, seq: 0 }
        return Effect.ensuring(writeIn(lease, command), Effect.sync(() => idle.push(lease)))
      })

    const writeIn = (lease: { readonly id: string; seq: number }, command: Parameters<KvClient["write"]>[0]) =>
      Effect.gen(function*() {
        const session = { clientId: lease.id, seq: ++lease.seq, command }
        const start = yield* clock.monotonicMs
        let maybeApplied = false
        let problem = "no attempt"
        while ((yield* clock.monotonicMs) - start < deadlineMs) {
          const result = yield* Effect.result(server.submit(session, requestTimeoutMs))
          if (result._tag === "Success") return result.success
          if (result.failure._tag === "KvTimeoutError") {
            // It may have applied; the retry with the same sequence number applies it at most once.
            maybeApplied = true
            problem = result.failure.message
          } else {
            problem = `no leader${result.failure.leader === undefined ? "" : ` (last seen ${result.failure.leader})`}`
            yield* backoff
          }
        }
        const message = `${command.op} ${"key" in command ? command.key : ""}: ${problem}`
        return yield* maybeApplied ? new KvAmbiguousError({ message }) : new KvUnavailableError({ message })
      })

    const read: KvClient["read"] = (command, consistency = "linearizable") =>
      Effect.gen(function*() {
        const start = yield* clock.monotonicMs
        while ((yield* clock.monotonicMs) - start < deadlineMs) {
          const result = yield* Effect.result(server.query(command, consistency, requestTimeoutMs))
          if (result._tag === "Success") return result.success
          yield* backoff
        }
        return yield* new KvUnavailableError({ message: `${command.op}: no leader confirmed the read within ${deadlineMs} ms` })
      })

    return { clientId, write, read }
  })

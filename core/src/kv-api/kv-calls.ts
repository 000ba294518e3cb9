/**
 * The KV API's calls into the KV server, with the API's reading of their
 * outcomes. A write is one session of its own (a fresh client id, seq 1):
 * the API never retries a write itself, so a write whose outcome is unknown
 * is a 504, never a guess. A refused proposal or an unconfirmed
 * linearizable read is a 503 with the leader hint: nothing happened.
 */
import { Effect } from "effect"
import { type KvCommand, type KvResult, validateCommand } from "../kv/command.ts"
import type { NodeId } from "../node/node-id.ts"
import type { KvApiConfig, RequestContext } from "./context.ts"
import { type KvApiError, LeaderUnavailableError, OutcomeUnknownError, resultError } from "./errors.ts"
import type { Consistency } from "./params.ts"

/** 503 naming the leader (and where its API listens, when known), or saying none is known. */
export const leaderError = (config: KvApiConfig, leader: NodeId | undefined, what: string): LeaderUnavailableError =>
  new LeaderUnavailableError({ what, leader, leaderApi: leader === undefined ? undefined : config.members.apiAddress(leader) })

/** The result of a valid write, or the API's error; a state machine error result is an error too. */
export const write = (ctx: RequestContext, command: KvCommand): Effect.Effect<Exclude<KvResult, { readonly type: "error" }>, KvApiError> =>
  Effect.gen(function*() {
    const invalid = validateCommand(command)
    if (invalid !== undefined) return yield* resultError(invalid)
    const { kv, requestTimeoutMs: timeout } = ctx.config
    const result = yield* kv.submit({ clientId: ctx.newClientId(), seq: 1, command }, timeout).pipe(
      Effect.catchTags({
        NotLeaderError: (e) => {
          ctx.tally.errorKinds.push("not_leader")
          return Effect.fail(leaderError(ctx.config, e.leader, "write not accepted"))
        },
        KvTimeoutError: () => {
          ctx.tally.errorKinds.push("timeout")
          return Effect.fail(
            new OutcomeUnknownError({ message: `the write was proposed but no result arrived within ${timeout} ms: it may or may not have been applied; read the key to find out` })
          )
        }
      })
    )
    if (result.type === "error") return yield* resultError(result)
    return result
  })

/** A get or range at `consistency`; a linearizable read is never answered by a node that could not confirm it is up to date. */
export const read = (
  ctx: RequestContext,
  command: Extract<KvCommand, { readonly op: "get" | "range" }>,
  consistency: Consistency
): Effect.Effect<Exclude<KvResult, { readonly type: "error" }>, KvApiError> =>
  Effect.gen(function*() {
    const invalid = validateCommand(command)
    if (invalid !== undefined) return yield* resultError(invalid)
    yield* Effect.annotateCurrentSpan("cairn.consistency", consistency)
    const { kv, requestTimeoutMs } = ctx.config
    const result = yield* kv.query(command, consistency, requestTimeoutMs).pipe(
      Effect.catchTag("NotLeaderError", (e) =>
        Effect.flatMap(kv.raft.status, (status) => {
          ctx.tally.errorKinds.push("not_leader")
          return Effect.fail(leaderError(ctx.config, e.leader ?? status.leader, "linearizable read not confirmed by a leader"))
        }))
    )
    if (result.type === "error") return yield* resultError(result)
    return result
  })

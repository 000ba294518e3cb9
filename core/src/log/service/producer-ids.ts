/**
 * Producer ids for idempotent producers, allocated in the cluster's Raft KV
 * (Kafka's InitProducerId): an anonymous producer gets a fresh id at epoch 0;
 * a named one (Kafka's transactional.id) keeps its id and gets the next
 * epoch, so a partition refuses the previous holder's batches as fenced once
 * the new one has written to it. Both are compare-and-set loops.
 *
 * Keys: `\u0000lpid` (the next id, decimal), `\u0000lpn/<name>` (JSON {id, epoch}).
 */
import { Effect } from "effect"
import { InvariantViolation } from "../../invariant/invariant.ts"
import type { KvAmbiguousError, KvClient, KvUnavailableError } from "../../kv/client.ts"
import { LogMetadataUnavailableError } from "../topics/topic-error.ts"

const NEXT_ID_KEY = "\u0000lpid"
const namedKey = (name: string) => `\u0000lpn/${name}`
/** Kafka's epochs are int16: past this a named producer takes a new id. */
const MAX_EPOCH = 32_767

export interface ProducerIdentity {
  readonly producerId: number
  readonly epoch: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const unavailable = (e: KvAmbiguousError | KvUnavailableError) =>
  new LogMetadataUnavailableError({ message: e.message, ambiguous: e._tag === "KvAmbiguousError" })

export const makeProducerIds = (kv: KvClient) => {
  const get = (key: string) =>
    Effect.flatMap(Effect.mapError(kv.read({ op: "get", key }), unavailable), (r) =>
      r.type === "get" ? Effect.succeed(r) : Effect.die(new InvariantViolation(`get ${JSON.stringify(key)}: ${r.type}`)))

  const cas = (key: string, expected: number, value: Uint8Array) =>
    Effect.flatMap(Effect.mapError(kv.write({ op: "cas", key, expected: expected === 0 ? "absent" : expected, value }), unavailable), (r) =>
      r.type === "cas" ? Effect.succeed(r.ok) : Effect.die(new InvariantViolation(`cas ${JSON.stringify(key)}: ${r.type}`)))

  const freshId = Effect.gen(function*() {
    for (;;) {
      const r = yield* get(NEXT_ID_KEY)
      const id = r.found ? Number(decoder.decode(r.value)) : 0
      if (yield* cas(NEXT_ID_KEY, r.found ? r.revision : 0, encoder.encode(String(id + 1)))) return id
    }
  })

  /** A fresh id (name ""), or the name's id at its next epoch. */
  const init = (name: string): Effect.Effect<ProducerIdentity, LogMetadataUnavailableError> =>
    Effect.gen(function*() {
      if (name === "") return { producerId: yield* freshId, epoch: 0 }
      for (;;) {
        const r = yield* get(namedKey(name))
        const held = r.found ? (JSON.parse(decoder.decode(r.value)) as ProducerIdentity) : undefined
        const next = held === undefined || held.epoch >= MAX_EPOCH ? { producerId: yield* freshId, epoch: 0 } : { producerId: held.producerId, epoch: held.epoch + 1 }
        if (yield* cas(namedKey(name), r.found ? r.revision : 0, encoder.encode(JSON.stringify(next)))) return next
      }
    })

  return { init }
}

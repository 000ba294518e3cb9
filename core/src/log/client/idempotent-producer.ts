/**
 * An idempotent producer over the log client: one producer id and epoch
 * (from `initProducer`), and per partition the next sequence number, written
 * into every batch it sends. A send that may have been appended is retried
 * with the same sequence, so the partition appends it at most once and
 * answers the retry with the original offsets.
 *
 * One send per partition at a time. A send that ends ambiguous (the deadline
 * passed without an answer) leaves that sequence in doubt: the producer then
 * takes a new producer id before its next send, so a later batch can never
 * be mistaken for the doubtful one (whose retry would be a duplicate).
 */
import { Effect } from "effect"
import { encodeBatch, type LogRecord } from "../record-batch.ts"
import type { LogClient, LogClientError, Produced } from "./log-client.ts"

export interface IdempotentProducer {
  readonly send: (topic: string, partition: number, records: ReadonlyArray<LogRecord>, timestamp: number) => Effect.Effect<Produced, LogClientError>
  readonly identity: () => { readonly producerId: number; readonly epoch: number } | undefined
}

/** `name`: "" for an anonymous producer; a name to take over (and fence) its previous holder. */
export const makeIdempotentProducer = (client: LogClient, name = ""): IdempotentProducer => {
  let identity: { readonly producerId: number; readonly epoch: number } | undefined
  const sequences = new Map<string, number>()

  const send: IdempotentProducer["send"] = (topic, partition, records, timestamp) =>
    Effect.gen(function*() {
      if (identity === undefined) {
        identity = yield* client.initProducer(name)
        sequences.clear()
      }
      const key = `${topic}/${partition}`
      const baseSequence = sequences.get(key) ?? 0
      // Sequences count offsets: the records' offset deltas must be 0..n-1.
      const numbered = records.map((r, i) => ({ ...r, offsetDelta: i }))
      const batch = encodeBatch({ baseTimestamp: timestamp, records: numbered, producerId: identity.producerId, producerEpoch: identity.epoch, baseSequence })
      const sent = yield* Effect.result(client.produce(topic, partition, batch))
      if (sent._tag === "Success") {
        sequences.set(key, (baseSequence + records.length) % 2 ** 31)
        return sent.success
      }
      if (sent.failure._tag === "LogAmbiguousError") identity = undefined
      return yield* Effect.fail(sent.failure)
    })

  return { send, identity: () => identity }
}

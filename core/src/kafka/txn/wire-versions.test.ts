import { Effect, Result } from "effect"
import fc from "fast-check"
import { describe, it } from "vitest"
import { manualClock } from "../../clock/manual-clock.test-support.ts"
import { localKv } from "../../kv/state-machine-kv.test-support.ts"
import { noTxnCoordinator, type FallbackTxnApi } from "../broker/txn-fallback.ts"
import { kafkaApis, type RequestOf, type ResponseOf } from "../protocol/api-table.ts"
import { arbitraryMessage } from "../protocol/arbitrary.test-support.ts"
import { encodeMessage } from "../protocol/message-codec.ts"
import type { MessageSchema } from "../protocol/schema.ts"
import { fakeLog, startTxnCoordinator } from "./txn-harness.test-support.ts"

const txnApis: ReadonlyArray<FallbackTxnApi> = ["InitProducerId", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn", "TxnOffsetCommit"]

const versionsOf = (api: FallbackTxnApi) => {
  const entry = kafkaApis[api]
  return Array.from({ length: entry.maxVersion - entry.minVersion + 1 }, (_, i) => entry.minVersion + i)
}

/** The broker sends InitProducerId to the transaction coordinator only with a transactional id. */
const routed = <N extends FallbackTxnApi>(api: N, body: RequestOf<N>): RequestOf<N> =>
  api === "InitProducerId" && (body as RequestOf<"InitProducerId">).transactionalId === null ? { ...body, transactionalId: "tx" } : body

const encodeIn = <N extends FallbackTxnApi>(api: N, version: number, answer: ResponseOf<N>) => {
  // kafkaApis[api] is the entry of `api`; TypeScript cannot correlate the union.
  const encoded = encodeMessage(kafkaApis[api].response as MessageSchema<ResponseOf<N>>, version, answer)
  if (Result.isFailure(encoded)) throw new Error(`${api} v${version}: ${encoded.failure.message}`)
}

describe("every transaction API in every version", () => {
  for (const api of txnApis) {
    it(`${api}: a random request is answered, by the coordinator and by a broker without one, with a body its version can carry`, async () => {
      for (const version of versionsOf(api)) {
        await fc.assert(
          fc.asyncProperty(arbitraryMessage(kafkaApis[api].request as MessageSchema<RequestOf<typeof api>>, version), async (raw) => {
            const body = routed(api, raw)
            const answer = await Effect.runPromise(Effect.gen(function*() {
              const { c, close } = yield* startTxnCoordinator(localKv(), fakeLog(), manualClock())
              const a = yield* c.handle(api, body, version)
              yield* close
              return a
            }))
            encodeIn(api, version, answer)
            encodeIn(api, version, noTxnCoordinator(api, body))
          }),
          { numRuns: 8 }
        )
      }
    })
  }
})

/**
 * Wires a server's observability beyond the Raft and HTTP metrics: the S3
 * metrics and access log (fed by the S3 listener's exchange records), the
 * capacity, catalog, repair and GC metrics (fed at scrape time and by the
 * object layer's sweep reports), and the Raft role/leader log. Everything
 * lives in the server's own registry and closes with the server's scope.
 */
import type { KvServer } from "@cairn/core"
import type { Clock } from "@cairn/core"
import { Data, Effect, type Scope } from "effect"
import type { S3Exchange } from "../s3/exchange.ts"
import { openAccessLog } from "./access-log.ts"
import type { ServerConfig } from "./config.ts"
import type { ServerMetrics } from "./metrics.ts"
import { watchRaft } from "./raft-watch.ts"
import { makeS3Metrics } from "./s3-metrics.ts"
import { makeStorageMetrics, type SweepEvent } from "./storage-metrics.ts"

/** The access log file cannot be opened for appending. */
export class AccessLogOpenError extends Data.TaggedError("AccessLogOpenError")<{ readonly message: string }> {}

export interface Observability {
  /** The object node's `onSweep`. */
  readonly onSweep: (event: SweepEvent) => void
  /** The S3 listener's `onExchange`. */
  readonly onExchange: (exchange: S3Exchange) => void
  /** Tell it how to count the S3 requests in flight once the listener runs. */
  readonly setS3InFlight: (read: () => number) => void
}

export const startObservability = (options: {
  readonly config: ServerConfig
  readonly dataDir: string
  readonly kv: KvServer
  readonly metrics: ServerMetrics
}): Effect.Effect<Observability, AccessLogOpenError, Clock | Scope.Scope> =>
  Effect.gen(function*() {
    const { config, kv, metrics } = options
    let inFlight: () => number = () => 0
    const s3 = makeS3Metrics(metrics.registry, () => inFlight())
    const storage = makeStorageMetrics(metrics.registry, {
      dataDir: options.dataDir,
      state: () => kv.stateMachine,
      isLeader: () => Effect.runSync(kv.raft.status).role === "leader"
    })
    const target = config.accessLog
    const accessLog = target === undefined ? undefined : yield* Effect.acquireRelease(
      Effect.try({
        try: () => openAccessLog(target),
        catch: (e) => new AccessLogOpenError({ message: `cannot open the access log for appending: ${(e as Error).message}` })
      }),
      (log) => Effect.promise(log.close)
    )
    // Sampling the status is not worth a span.
    yield* Effect.forkScoped(Effect.withTracerEnabled(watchRaft(kv.raft.status), false))
    return {
      onSweep: storage.onSweep,
      onExchange: (x) => {
        s3.observe(x)
        accessLog?.write(x)
      },
      setS3InFlight: (read) => {
        inFlight = read
      }
    }
  })

/**
 * The Kafka endpoint: a TCP server that splits each connection's bytes into
 * frames (core's `frame.ts`) and hands every frame to core's broker
 * (`kafka/broker/handle-frame.ts`), writing the answers back.
 *
 * - **Order.** A connection's requests are answered in the order they came.
 *   Consecutive Produce requests are pipelined: the next one's appends are
 *   sent once the previous one's are (core's `startFrame`), and all wait for
 *   their commits together, so a client with several requests in flight
 *   (librdkafka's default) shares the partitions' group commits instead of
 *   paying a whole commit per request; each partition still receives them in
 *   order. Any other request waits until everything before it is answered
 *   and is served alone (as Kafka's broker serves a muted connection);
 *   connections run concurrently.
 * - **Limits.** At most `maxQueuedFrames` received frames wait per
 *   connection: beyond that the socket is paused (TCP pushes back on the
 *   client) until the queue drains. A frame size above the decode limit
 *   (Kafka's `socket.request.max.bytes`, 100 MiB) or negative closes the
 *   connection, since nothing after it can be framed; so does a frame that
 *   does not decode or an unsupported request (handle-frame.ts says why).
 * - **SASL.** With `broker.saslUsers` set, each connection must
 *   authenticate with SASL PLAIN first (core's `sasl.ts`).
 * - **Failure.** Nothing a client sends can crash the node: socket errors
 *   end that connection, and every closing is logged with its reason.
 */
import type { Clock } from "@cairn/core"
import type { Broker } from "@cairn/core/kafka/broker/broker-log"
import { type FrameOutcome, startFrame } from "@cairn/core/kafka/broker/handle-frame"
import { ConnectionState } from "@cairn/core/kafka/broker/sasl"
import { type DecodeLimits, defaultDecodeLimits } from "@cairn/core/kafka/protocol/limits"
import { Data, Effect, Result, type Scope } from "effect"
import { createServer, type Server, type Socket } from "node:net"
import { log } from "../log/log.ts"
import { LISTEN_BACKLOG } from "../overload/limits.ts"
import { FrameAssembler } from "./frame-assembler.ts"
import { InFlight } from "./in-flight.ts"

export class KafkaListenerError extends Data.TaggedError("KafkaListenerError")<{ readonly message: string; readonly inUse: boolean }> {}

export interface KafkaListenerOptions {
  readonly broker: Broker
  readonly address: { readonly host: string; readonly port: number }
  readonly limits?: DecodeLimits
  /** Frames received and not yet answered on one connection before its socket is paused (default 64). */
  readonly maxQueuedFrames?: number
  /**
   * How much of one connection's produce may be in flight at once (`in-flight.ts` says why): partition
   * appends (default 16), requests (default 1: no pipelining), bytes (default 4 MiB). Pipelining is off
   * by default: it relies on a started fiber reaching its replica's proposal before the next request
   * starts, and an Effect fiber may yield first (its operation budget), which reordered two of kcat's
   * batches to one partition in a CI run. It returns once the proposal itself is awaited before the
   * next request starts.
   */
  readonly maxInFlightAppends?: number
  readonly maxInFlightProduces?: number
  readonly maxInFlightProduceBytes?: number
  /** Open connections at most (default 10 000). */
  readonly maxConnections?: number
}

export interface KafkaListener {
  /** The address bound (the real port when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number }
  readonly connections: () => number
}

type Run = <A>(effect: Effect.Effect<A, never, Clock>) => Promise<A>

/** Serves one connection until it closes. */
const serveConnection = (socket: Socket, options: KafkaListenerOptions, run: Run): void => {
  const limits = options.limits ?? defaultDecodeLimits
  const maxQueued = options.maxQueuedFrames ?? 64
  const connection = new ConnectionState(socket.remoteAddress ?? "unknown", options.broker.saslUsers !== undefined)
  const frames = new FrameAssembler(limits)
  const inFlight = new InFlight({
    appends: options.maxInFlightAppends ?? 16,
    requests: options.maxInFlightProduces ?? 1,
    bytes: options.maxInFlightProduceBytes ?? 4 * 1024 * 1024
  })
  const queue: Array<Uint8Array> = []
  let busy = false
  let closed = false
  /** Wakes `serveQueue` from its wait for the oldest answer: a frame arrived that may start now. */
  let arrived: (() => void) | undefined

  /** Closes the connection, after sending `last` if given. */
  const close = (reason: string, level: "info" | "warn" = "info", last?: Uint8Array) => {
    if (closed) return
    closed = true
    log(level, "Kafka connection closed", { client: `${connection.clientHost}:${socket.remotePort ?? "?"}`, reason })
    if (last === undefined) socket.destroy()
    else socket.end(last)
  }

  const answer = (outcome: FrameOutcome) => {
    inFlight.shift()
    if (outcome._tag === "Respond") socket.write(outcome.frame)
    else if (outcome._tag === "Close") close(outcome.reason, "warn", outcome.frame)
  }

  const mayStart = () => queue.length > 0 && inFlight.mayStart(queue[0]!)

  /** Starts the next queued frame: its first stage runs alone, so a Produce's appends are sent before the next one's. */
  const startNext = async () => {
    const frame = queue.shift()!
    const started = await run(startFrame(options.broker, frame, connection, limits))
    inFlight.add(run(started.finish), frame.length, started.appends)
    if (queue.length < maxQueued && socket.isPaused()) socket.resume()
  }

  const serveQueue = async () => {
    if (busy) return
    busy = true
    while ((queue.length > 0 || inFlight.size > 0) && !closed) {
      const oldest = inFlight.size > 0 ? inFlight.oldest() : undefined
      if (oldest !== undefined && !(oldest instanceof Promise)) {
        answer(oldest) // answers that are ready go out first, in order
        continue
      }
      if (mayStart()) {
        await startNext()
        continue
      }
      if (oldest === undefined) continue
      const woken = new Promise<"arrived">((r) => (arrived = () => r("arrived")))
      const first = await Promise.race([oldest, woken])
      arrived = undefined
      if (first !== "arrived" && !closed) answer(first)
    }
    busy = false
  }

  socket.on("data", (chunk: Buffer) => {
    if (closed) return
    const split = frames.push(chunk)
    if (Result.isFailure(split)) return close(`unframeable input: ${split.failure}`, "warn")
    queue.push(...split.success)
    if (queue.length >= maxQueued) socket.pause()
    if (arrived !== undefined && mayStart()) arrived()
    void serveQueue().catch((e: unknown) => close(`broker failure: ${String(e)}`, "warn"))
  })
  socket.on("error", (e) => close(`socket error: ${e.message}`))
  socket.on("end", () => close("the client closed the connection"))
  socket.on("close", () => {
    closed = true
  })
}

const listen = (server: Server, address: KafkaListenerOptions["address"]) =>
  Effect.callback<{ host: string; port: number }, KafkaListenerError>((resume) => {
    const failed = (e: NodeJS.ErrnoException) =>
      resume(Effect.fail(new KafkaListenerError({ message: `cannot listen on ${address.host}:${address.port} for Kafka: ${e.message}`, inUse: e.code === "EADDRINUSE" })))
    server.once("error", failed)
    server.listen(address.port, address.host, LISTEN_BACKLOG, () => {
      server.off("error", failed)
      const bound = server.address()
      resume(Effect.succeed(typeof bound === "object" && bound !== null ? { host: address.host, port: bound.port } : { ...address }))
    })
  })

/** Starts the Kafka listener; it stops (closing every connection) when the scope closes. */
export const startKafkaListener = (options: KafkaListenerOptions): Effect.Effect<KafkaListener, KafkaListenerError, Clock | Scope.Scope> =>
  Effect.gen(function*() {
    const services = yield* Effect.context<Clock>()
    const run: Run = (effect) => Effect.runPromiseWith(services)(effect)
    const sockets = new Set<Socket>()
    const server = createServer({ noDelay: true }, (socket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
      serveConnection(socket, options, run)
    })
    server.maxConnections = options.maxConnections ?? 10_000
    server.on("error", (e) => log("warn", "Kafka listener error", { error: e.message }))
    const address = yield* Effect.acquireRelease(listen(server, options.address), () =>
      Effect.promise(async () => {
        const closedServer = new Promise<void>((r) => server.close(() => r()))
        for (const s of sockets) s.destroy()
        await closedServer
      }))
    log("info", "Kafka API listening", { address: `${address.host}:${address.port}` })
    return { address, connections: () => sockets.size }
  })

/**
 * The requests a Kafka connection has started and not yet answered, in
 * arrival order, and the bounds on pipelining them (listener.ts): only
 * Produce requests overlap, and only while the connection has at most
 * `appends` partition appends, `requests` requests and `bytes` bytes in
 * flight (a larger request runs alone). More in flight only queues inside
 * the node, past the append timeout, and the client's retries then cost more
 * than the overlap gains.
 */
import type { FrameOutcome } from "@cairn/core/kafka/broker/handle-frame"
import { pipelines } from "@cairn/core/kafka/broker/handle-frame"

export interface InFlightBounds {
  readonly appends: number
  readonly requests: number
  readonly bytes: number
}

interface Entry {
  readonly outcome: Promise<FrameOutcome>
  readonly bytes: number
  readonly appends: number
  settled: FrameOutcome | undefined
}

export class InFlight {
  private readonly bounds: InFlightBounds
  private readonly entries: Array<Entry> = []
  private bytes = 0
  private appends = 0

  constructor(bounds: InFlightBounds) {
    this.bounds = bounds
  }

  get size(): number {
    return this.entries.length
  }

  /** Whether `frame` may start now: anything when nothing is in flight, else a Produce within the bounds. */
  mayStart(frame: Uint8Array): boolean {
    if (this.entries.length === 0) return true
    return pipelines(frame) && this.entries.length < this.bounds.requests && this.appends < this.bounds.appends && this.bytes + frame.length <= this.bounds.bytes
  }

  add(outcome: Promise<FrameOutcome>, bytes: number, appends: number): void {
    const entry: Entry = { outcome, bytes, appends, settled: undefined }
    // Awaited in turn (`oldest`), which rethrows a failure; until then it must not count as unhandled.
    outcome.then((o) => (entry.settled = o), () => undefined)
    this.entries.push(entry)
    this.bytes += bytes
    this.appends += appends
  }

  /** The oldest request's outcome: settled already, or the promise of it. */
  oldest(): FrameOutcome | Promise<FrameOutcome> {
    const head = this.entries[0]!
    return head.settled ?? head.outcome
  }

  /** Drops the oldest request (its answer is being sent). */
  shift(): void {
    const head = this.entries.shift()!
    this.bytes -= head.bytes
    this.appends -= head.appends
  }
}

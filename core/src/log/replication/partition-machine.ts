/**
 * A partition's replicated state machine: what applying a committed append
 * means. Pure and deterministic — every replica applies the same entries in
 * the same order and computes the same outcome — so offsets are a property
 * of the committed entry, never of the replica that stores it (ADR 0011), and
 * the idempotent producers' table (`producer-state.ts`) is the same on every
 * replica, through leader changes and restarts.
 *
 * Transactions (KIP-98): a transactional batch opens its producer's
 * transaction on this partition, a control batch (a COMMIT or ABORT marker
 * the transaction coordinator writes) closes it (`partition-txns.ts`): the
 * last stable offset and the aborted ranges follow, the same on every replica.
 *
 * The machine holds only the small state (next offset, producers, transactions); the
 * batches themselves go to the replica's segment log (`partition-replica.ts`)
 * from the `appended` outcomes, in order.
 */
import { Result } from "effect"
import { assert } from "../../invariant/invariant.ts"
import type { NodeId } from "../../node/node-id.ts"
import { decodeMarker, isControl, isTransactional } from "../control-batch.ts"
import { type BatchHeader, checkBatch, withBaseOffset } from "../record-batch.ts"
import { decodePartitionCommand } from "./partition-command.ts"
import { PartitionTxns, type TxnsState } from "./partition-txns.ts"
import { lastSequence, type ProducerEntry, ProducerTable } from "./producer-state.ts"

/** The machine's whole state, as a partition snapshot carries it (`partition-snapshot.ts`). */
export interface MachineState {
  readonly nextOffset: number
  readonly producers: ReadonlyArray<readonly [number, ProducerEntry]>
  /** Request keys and their offsets, oldest first. */
  readonly requests: ReadonlyArray<readonly [string, OffsetRange]>
  readonly txns: TxnsState
}

export interface OffsetRange {
  readonly baseOffset: number
  readonly lastOffset: number
}

export type AppendRefusal = "invalid-batch" | "too-large" | "fenced" | "out-of-order"

export type AppendOutcome =
  /** `header`: what `checkBatch` found in `stored` (its base offset aside), so the segment log need not check it again. */
  | { readonly kind: "appended"; readonly baseOffset: number; readonly lastOffset: number; readonly stored: Uint8Array; readonly header: BatchHeader }
  | { readonly kind: "duplicate"; readonly baseOffset: number; readonly lastOffset: number }
  | { readonly kind: "refused"; readonly reason: AppendRefusal; readonly message: string }

export interface AppliedAppend {
  readonly origin: NodeId
  readonly key: string
  readonly outcome: AppendOutcome
}

const refused = (reason: AppendRefusal, message: string): AppendOutcome => ({ kind: "refused", reason, message })


/** Request keys remembered, most recent; a copy of a request arrives within moments of the original. */
export const REQUEST_WINDOW = 4096

export class PartitionMachine {
  /** The offset the next appended batch gets: the high watermark of what this replica applied. */
  nextOffset = 0
  readonly producers = new ProducerTable()
  readonly txns = new PartitionTxns()
  /** Offsets given to the last REQUEST_WINDOW request keys, oldest first (a Map keeps insertion order). */
  private readonly requests = new Map<string, OffsetRange>()
  private readonly maxBatchBytes: number

  constructor(maxBatchBytes: number) {
    assert(Number.isSafeInteger(maxBatchBytes) && maxBatchBytes > 0, "maxBatchBytes must be positive")
    this.maxBatchBytes = maxBatchBytes
  }

  /** The state a snapshot keeps: with it, a machine decides every later command as this one would. */
  state(): MachineState {
    return { nextOffset: this.nextOffset, producers: this.producers.all(), requests: [...this.requests], txns: this.txns.state() }
  }

  /** Replaces the state with a snapshot's. */
  restore(state: MachineState): void {
    assert(Number.isSafeInteger(state.nextOffset) && state.nextOffset >= 0, () => `bad next offset ${state.nextOffset}`)
    assert(state.requests.length <= REQUEST_WINDOW, "more request keys than the window in a snapshot")
    this.nextOffset = state.nextOffset
    this.producers.replaceAll(state.producers)
    this.txns.restore(state.txns)
    this.requests.clear()
    for (const [key, range] of state.requests) this.requests.set(key, range)
  }

  /** Applies one committed command (Raft checksummed it: an undecodable one is a bug and throws). */
  apply(command: Uint8Array): AppliedAppend {
    const c = decodePartitionCommand(command)
    const copy = this.requests.get(c.key)
    if (copy !== undefined) return { origin: c.origin, key: c.key, outcome: { kind: "duplicate", ...copy } }
    const outcome = this.append(c.batch)
    if (outcome.kind === "appended") {
      this.requests.set(c.key, { baseOffset: outcome.baseOffset, lastOffset: outcome.lastOffset })
      if (this.requests.size > REQUEST_WINDOW) this.requests.delete(this.requests.keys().next().value!)
    }
    return { origin: c.origin, key: c.key, outcome }
  }

  private append(batch: Uint8Array): AppendOutcome {
    if (batch.length > this.maxBatchBytes) return refused("too-large", `batch of ${batch.length} bytes over ${this.maxBatchBytes}`)
    // The header of a well-formed batch (records parsed too when uncompressed), or why not.
    const checked = checkBatch(batch)
    if (Result.isFailure(checked)) return refused("invalid-batch", checked.failure.message)
    const h = checked.success
    if (isControl(h.attributes)) return this.appendMarker(batch)
    const idempotent = h.producerId >= 0
    if (idempotent) {
      const firstSeq = h.baseSequence
      if (firstSeq < 0) return refused("invalid-batch", `producer ${h.producerId} sent no sequence`)
      const check = this.producers.check(h.producerId, h.producerEpoch, firstSeq, lastSequence(firstSeq, h.lastOffsetDelta + 1))
      if (check.kind === "fenced") return refused("fenced", `producer ${h.producerId} epoch ${h.producerEpoch} is older than epoch ${check.currentEpoch}`)
      if (check.kind === "out-of-order") return refused("out-of-order", `producer ${h.producerId} sequence ${firstSeq}, expected ${check.expected}`)
      if (check.kind === "duplicate") return { kind: "duplicate", baseOffset: check.baseOffset, lastOffset: check.lastOffset }
    }
    const baseOffset = this.nextOffset
    const lastOffset = baseOffset + h.lastOffsetDelta
    this.nextOffset = lastOffset + 1
    if (idempotent) {
      this.producers.record(h.producerId, h.producerEpoch, {
        firstSeq: h.baseSequence,
        lastSeq: lastSequence(h.baseSequence, h.lastOffsetDelta + 1),
        baseOffset,
        lastOffset
      })
      if (isTransactional(h.attributes)) this.txns.onData(h.producerId, baseOffset)
    }
    return { kind: "appended", baseOffset, lastOffset, stored: withBaseOffset(batch, baseOffset), header: { ...h, baseOffset } }
  }

  /** A transaction marker: fenced if its epoch is older than the producer's, else appended and the transaction closed. */
  private appendMarker(batch: Uint8Array): AppendOutcome {
    const marker = decodeMarker(batch)
    if (Result.isFailure(marker)) return refused("invalid-batch", marker.failure)
    const m = marker.success
    const entry = this.producers.entry(m.producerId)
    if (entry !== undefined && m.producerEpoch < entry.epoch) return refused("fenced", `marker of producer ${m.producerId} epoch ${m.producerEpoch} is older than epoch ${entry.epoch}`)
    const baseOffset = this.nextOffset
    const lastOffset = baseOffset + m.header.lastOffsetDelta
    this.nextOffset = lastOffset + 1
    this.producers.markerEpoch(m.producerId, m.producerEpoch)
    this.txns.onMarker(m.producerId, m.type === "commit", lastOffset)
    return { kind: "appended", baseOffset, lastOffset, stored: withBaseOffset(batch, baseOffset), header: { ...m.header, baseOffset } }
  }
}

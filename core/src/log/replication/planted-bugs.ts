/**
 * Bugs planted on purpose in a partition replica, test only: the
 * simulator's campaigns (`cairn sim --workload log --planted-bug log-…`)
 * must catch each, which shows the log checker sees what it claims to.
 * Never set outside tests.
 *
 * - `ack-before-commit`: an append is answered as soon as Raft took the
 *   proposal, at offsets the replica guesses, before any quorum has it.
 * - `read-above-hw`: reads also serve the replica's own proposals that are
 *   not applied yet (Kafka's log end offset instead of its high
 *   watermark), at guessed offsets: records a leader change can drop.
 * - `forget-producer-seq`: a partition snapshot leaves out the idempotent
 *   producers' sequence state, so a replica restored from it (a restart
 *   after compaction, a snapshot installed from the leader) rebuilds the
 *   table from the entries after the snapshot only, and decides differently
 *   from its peers.
 */
import { Field, withBaseOffset } from "../record-batch.ts"

export type ReplicaPlantedBug = "ack-before-commit" | "read-above-hw" | "forget-producer-seq"

const view = (batch: Uint8Array) => new DataView(batch.buffer, batch.byteOffset, batch.byteLength)

/** The offset count of a batch (its last offset delta + 1). */
export const offsetCount = (batch: Uint8Array): number => view(batch).getInt32(Field.lastOffsetDelta) + 1

/** Offsets a replica guesses for its own proposals (the correct code waits for the apply to learn them). */
export class OffsetGuesser {
  private next = 0

  guess(batch: Uint8Array, highWatermark: number): { readonly baseOffset: number; readonly lastOffset: number } {
    const baseOffset = Math.max(this.next, highWatermark)
    this.next = baseOffset + offsetCount(batch)
    return { baseOffset, lastOffset: this.next - 1 }
  }
}

export interface SpeculativeBatch {
  readonly baseOffset: number
  readonly lastOffset: number
  readonly stored: Uint8Array
}

/** `read-above-hw`: this replica's proposals not applied yet, at guessed offsets, which reads serve. */
export class SpeculativeTail {
  private readonly guesser = new OffsetGuesser()
  private batches: Array<SpeculativeBatch> = []

  add(batch: Uint8Array, highWatermark: number): void {
    const { baseOffset, lastOffset } = this.guesser.guess(batch, highWatermark)
    this.batches.push({ baseOffset, lastOffset, stored: withBaseOffset(batch, baseOffset) })
  }

  /** The guessed batches at or above the high watermark (those below it are taken as applied and dropped). */
  above(highWatermark: number): ReadonlyArray<SpeculativeBatch> {
    this.batches = this.batches.filter((b) => b.baseOffset >= highWatermark)
    return this.batches
  }
}

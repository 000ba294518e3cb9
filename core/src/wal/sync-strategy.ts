/**
 * When the WAL calls fsync, and what each choice can lose at a power failure.
 *
 * Whatever the strategy, an append's `durable` effect resolves only after its
 * record AND the superblock that records the new durable end are on stable
 * storage, so an append acknowledged as durable is never lost. The strategy
 * only decides how long records wait in the volatile window between "written"
 * and "durable", i.e. what a power failure can take from appends the caller
 * has not yet seen become durable.
 */

export type SyncStrategy =
  /** fsync after every group-commit batch: appends wait for their own fsync, shared by all concurrent appends. */
  | { readonly _tag: "Always" }
  /** fsync every `intervalMs` of the node's monotonic clock (via the Clock service), if anything is unsynced. */
  | { readonly _tag: "Periodic"; readonly intervalMs: number }
  /**
   * fsync once `bytes` of records or `records` records are unsynced, or (if
   * set) once `maxDelayMs` has passed with anything unsynced, so that a quiet
   * log does not hold an acknowledgement back for ever.
   */
  | { readonly _tag: "Threshold"; readonly bytes: number; readonly records: number; readonly maxDelayMs?: number }
  /** Never fsync on its own: only at segment roll-over and when the caller runs `wal.sync`. */
  | { readonly _tag: "None" }

export const SyncStrategy = {
  always: { _tag: "Always" } as SyncStrategy,
  periodic: (intervalMs: number): SyncStrategy => ({ _tag: "Periodic", intervalMs }),
  threshold: (options: { readonly bytes: number; readonly records: number; readonly maxDelayMs?: number }): SyncStrategy => ({
    _tag: "Threshold",
    ...options
  }),
  none: { _tag: "None" } as SyncStrategy
}

/**
 * Presets. What a power failure can lose (never anything whose `durable` resolved):
 * - Durable (Always): only appends whose `durable` has not resolved yet, i.e.
 *   the batch in flight. Raft must use this: it acknowledges an entry only
 *   after `durable`.
 * - Balanced (Periodic 10 ms): appends of up to the last ~10 ms plus the sync
 *   in flight.
 * - Performance (None): everything since the last segment roll-over or
 *   explicit `wal.sync` (the operating system decides what landed; recovery
 *   keeps whatever intact prefix it finds).
 */
export const SyncPreset = {
  Durable: SyncStrategy.always,
  Balanced: SyncStrategy.periodic(10),
  Performance: SyncStrategy.none
} as const

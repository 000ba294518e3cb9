/**
 * Counts the object catalog — buckets, uploads in progress, current and
 * non-current versions, delete markers, and their logical bytes — from this
 * node's replica of the Raft KV (its applied state: every node holds the
 * whole catalog, so the figures are cluster-wide, as of what this node has
 * applied). It reads the state machine directly, page by page, and yields
 * to the event loop between pages, so a large catalog costs time in small
 * slices (and scrape-cache.ts keeps it from running often); the scan is
 * not a snapshot (writes between pages may be missed).
 */
import type { KvStateMachine } from "@cairn/core/kv/state-machine"
import { afterPrefix, BUCKET_PREFIX, keyAfter, OBJECT_PREFIX, PART_PREFIX, UPLOAD_PREFIX, VERSION_PREFIX } from "@cairn/core/object/catalog-keys"
import { shardLocations } from "@cairn/core/object/object-data"
import { decodeObjectMeta } from "@cairn/core/object/metadata"
import { isDeleteMarker } from "@cairn/core/object/version-marks"
import { setImmediate as yieldToEventLoop } from "node:timers/promises"

export interface CatalogCensus {
  readonly buckets: number
  readonly uploads: number
  /** Current versions that are not delete markers: what listings show. */
  readonly currentObjects: number
  readonly currentBytes: number
  /** Older versions kept by versioning (not delete markers). */
  readonly noncurrentObjects: number
  readonly noncurrentBytes: number
  /** Delete markers, current or not. */
  readonly deleteMarkers: number
  /** Records that do not decode (a bug or a damaged record; repair and GC skip them too). */
  readonly unreadable: number
  /**
   * Shards the records (versions and uploaded parts) place on each node, by
   * node id: what a drain waits to see reach 0 (shards recorded missing
   * after a degraded write included: they are meant to be there).
   */
  readonly shardsByNode: ReadonlyMap<string, number>
}

// Small pages: a page is counted without yielding (some tens of µs a record), so this bounds the event-loop stall.
const PAGE = 500

/** Calls `visit` with each value under `prefix`, one page at a time. */
const scan = async (state: () => KvStateMachine, prefix: string, visit: (value: Uint8Array) => void): Promise<void> => {
  let start = prefix
  for (;;) {
    const page = state().range(start, afterPrefix(prefix), PAGE)
    if (page.type !== "range") throw new Error(`catalog census: range under ${JSON.stringify(prefix)} answered ${page.code}: ${page.message}`)
    for (const item of page.items) visit(item.value)
    if (!page.more || page.items.length === 0) return
    start = keyAfter(page.items[page.items.length - 1]!.key)
    await yieldToEventLoop()
  }
}

/** `state` is read anew for every page: the KV server replaces its state machine when it restores a snapshot. */
export const countCatalog = async (state: () => KvStateMachine): Promise<CatalogCensus> => {
  let buckets = 0
  let uploads = 0
  let unreadable = 0
  let deleteMarkers = 0
  const tally = { current: { objects: 0, bytes: 0 }, noncurrent: { objects: 0, bytes: 0 } }
  const shardsByNode = new Map<string, number>()
  const countShards = (meta: Parameters<typeof shardLocations>[0]) => {
    for (const loc of shardLocations(meta)) shardsByNode.set(loc.node, (shardsByNode.get(loc.node) ?? 0) + 1)
  }
  const versions = (which: "current" | "noncurrent") => (value: Uint8Array) => {
    const meta = decodeObjectMeta(value)
    if (meta._tag === "Failure") unreadable++
    else if (isDeleteMarker(meta.success)) deleteMarkers++
    else {
      tally[which].objects++
      tally[which].bytes += meta.success.size
      countShards(meta.success.body)
    }
  }
  const parts = (value: Uint8Array) => {
    const meta = decodeObjectMeta(value)
    if (meta._tag === "Failure") unreadable++
    else countShards(meta.success.body)
  }
  await scan(state, BUCKET_PREFIX, () => void buckets++)
  await scan(state, UPLOAD_PREFIX, () => void uploads++)
  await scan(state, OBJECT_PREFIX, versions("current"))
  await scan(state, VERSION_PREFIX, versions("noncurrent"))
  await scan(state, PART_PREFIX, parts)
  return {
    buckets,
    uploads,
    currentObjects: tally.current.objects,
    currentBytes: tally.current.bytes,
    noncurrentObjects: tally.noncurrent.objects,
    noncurrentBytes: tally.noncurrent.bytes,
    deleteMarkers,
    unreadable,
    shardsByNode
  }
}

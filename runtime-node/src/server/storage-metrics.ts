/**
 * Capacity and object-layer metrics of one node, read at scrape time:
 *
 * - this node's disk: the data directory's filesystem (size, space left),
 *   its shards (count, bytes) and its Raft directory (WAL and snapshots);
 * - the object catalog (cluster-wide, from this node's KV replica);
 * - repair, rebalancing and GC: what the object layer's background work reported
 *   through `onSweep` (counters, and figures of the last sweep; 0 before
 *   the first).
 *
 * Repair runs only on the Raft leader, so its "unrepaired stripes" figure is
 * exported only while this node leads: a former leader's last figure would
 * otherwise linger and keep an alert firing. Walks and scans are served
 * from a cache (scrape-cache.ts: refreshed in the background every
 * 30 s, or less often when they are costly), and
 * `cairn_metrics_cache_age_seconds` says how old each figure is.
 */
import type { KvStateMachine } from "@cairn/core/kv/state-machine"
import type { ObjectNodeConfig } from "@cairn/core/object/object-node"
import type { RebalanceCursor } from "@cairn/core/object/rebalance"
import { Counter, Gauge, type Registry } from "prom-client"
import { join } from "node:path"
import { countCatalog } from "./catalog-census.ts"
import { directoryUsage, filesystemSpace } from "./disk-usage.ts"
import { log } from "../log/log.ts"
import { type CachedValue, cachedForScrapes, type ScrapeCacheOptions } from "./scrape-cache.ts"

type RepairReport = Extract<SweepEvent, { readonly kind: "repair" }>["report"]

export type SweepEvent = Parameters<NonNullable<ObjectNodeConfig["onSweep"]>>[0]

export interface StorageMetricsOptions {
  readonly dataDir: string
  /** This node's KV replica (read anew on each scrape: a snapshot restore replaces it). */
  readonly state: () => KvStateMachine
  readonly isLeader: () => boolean
  /** How the walks and the catalog count are cached (default: refreshed every 30 s, or less often when costly). */
  readonly cache?: ScrapeCacheOptions
}

export interface StorageMetrics {
  /** Give it the object node's sweep reports (its `onSweep`). */
  readonly onSweep: (event: SweepEvent) => void
}

/** A scrape-time source that logs its failure once (until it works again) instead of failing the whole scrape (its gauges read NaN meanwhile). */
const guarded = <A>(what: string, read: () => Promise<A>): () => Promise<A | undefined> => {
  let failing = false
  return () =>
    read().then(
      (value) => {
        failing = false
        return value
      },
      (e: unknown) => {
        if (!failing) log("warn", `metrics: cannot read ${what}; its gauges read NaN until it can`, { error: String(e) })
        failing = true
        return undefined
      }
    )
}

const asyncGauge = <A>(registry: Registry, name: string, help: string, read: () => Promise<A | undefined>, value: (a: A) => number) =>
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      const a = await read()
      // NaN, not 0, when the figure cannot be read: a 0 would look like a full disk or an empty node.
      this.set(a === undefined ? Number.NaN : value(a))
    }
  })

const versionGauge = <A>(registry: Registry, name: string, help: string, read: () => Promise<A | undefined>, value: (a: A, version: "current" | "noncurrent") => number) =>
  new Gauge({
    name,
    help,
    labelNames: ["version"],
    registers: [registry],
    async collect() {
      const a = await read()
      for (const version of ["current", "noncurrent"] as const) this.set({ version }, a === undefined ? Number.NaN : value(a, version))
    }
  })

export const makeStorageMetrics = (registry: Registry, options: StorageMetricsOptions): StorageMetrics => {
  const ttl = options.cache ?? { minTtlMs: 30_000 }
  const cached = { shards: cachedForScrapes(ttl, () => directoryUsage(join(options.dataDir, "shards"), ".shard")), raft: cachedForScrapes(ttl, () => directoryUsage(join(options.dataDir, "raft"))), catalog: cachedForScrapes(ttl, () => countCatalog(options.state)) }
  const value = <A>(read: () => Promise<CachedValue<A> | undefined>) => () => read().then((c) => c?.value)
  const space = guarded("the data directory's filesystem", () => filesystemSpace(options.dataDir))
  const shards = guarded("the shard directory", value(cached.shards))
  const raft = guarded("the Raft directory", value(cached.raft))
  const catalog = guarded("the object catalog", value(cached.catalog))
  new Gauge({
    name: "cairn_metrics_cache_age_seconds",
    help: "Age of the cached figures served: figure=shards (cairn_node_shards, cairn_node_shard_bytes), raft (cairn_node_raft_bytes), catalog (cairn_catalog_*)",
    labelNames: ["figure"],
    registers: [registry],
    async collect() {
      this.reset()
      for (const [figure, read] of Object.entries(cached)) {
        const c = await read().catch(() => undefined)
        if (c !== undefined) this.set({ figure }, Math.max(0, (performance.now() - c.at) / 1000))
      }
    }
  })

  asyncGauge(registry, "cairn_disk_size_bytes", "Size of the filesystem holding the data directory", space, (s) => s.sizeBytes)
  asyncGauge(registry, "cairn_disk_available_bytes", "Space left on the data directory's filesystem for the server (f_bavail)", space, (s) => s.availableBytes)
  asyncGauge(registry, "cairn_node_shards", "Shard files stored on this node", shards, (u) => u.files)
  asyncGauge(registry, "cairn_node_shard_bytes", "Bytes of shard files on this node (32-byte headers included; leftovers awaiting GC too)", shards, (u) => u.bytes)
  asyncGauge(registry, "cairn_node_raft_bytes", "Bytes of this node's Raft directory (WAL segments, snapshots, hard state)", raft, (u) => u.bytes)
  asyncGauge(registry, "cairn_catalog_buckets", "Buckets (cluster-wide, from this node's KV replica)", catalog, (c) => c.buckets)
  asyncGauge(registry, "cairn_catalog_multipart_uploads", "Multipart uploads in progress (cluster-wide)", catalog, (c) => c.uploads)
  asyncGauge(registry, "cairn_catalog_delete_markers", "Delete markers, current or not (cluster-wide)", catalog, (c) => c.deleteMarkers)
  asyncGauge(registry, "cairn_catalog_unreadable_records", "Object records that do not decode (cluster-wide; should be 0)", catalog, (c) => c.unreadable)
  versionGauge(registry, "cairn_catalog_objects", "Object versions by version=current|noncurrent, delete markers excluded (cluster-wide)", catalog, (c, v) =>
    v === "current" ? c.currentObjects : c.noncurrentObjects)
  new Gauge({
    name: "cairn_catalog_shards",
    help: "Shards the catalog's records place on each node (versions and uploaded parts; cluster-wide): a drained node reaches 0",
    labelNames: ["node"],
    registers: [registry],
    async collect() {
      const c = await catalog()
      this.reset()
      if (c !== undefined) for (const [node, n] of c.shardsByNode) this.set({ node }, n)
    }
  })
  versionGauge(registry, "cairn_catalog_object_bytes", "Logical bytes of object versions (before erasure coding; cluster-wide)", catalog, (c, v) =>
    v === "current" ? c.currentBytes : c.noncurrentBytes)

  return { onSweep: makeSweepMetrics(registry, options.isLeader) }
}

/** Counters and last-sweep figures of repair (leader only) and GC (every node). */
const makeSweepMetrics = (registry: Registry, isLeader: () => boolean): (event: SweepEvent) => void => {
  const registers = [registry]
  const counter = (name: string, help: string) => new Counter({ name, help, registers })
  const repairSweeps = counter("cairn_repair_sweeps_total", "Repair sweeps this node completed (it repairs while it is the Raft leader)")
  const checked = counter("cairn_repair_shards_checked_total", "Shards read back and checked by this node's repair sweeps")
  const rebuilt = counter("cairn_repair_shards_rebuilt_total", "Missing or damaged shards rebuilt and written again by this node's repair sweeps")
  const moved = counter("cairn_repair_shards_moved_total", "Rebuilt shards placed on another node because theirs left the cluster (or stayed silent after a degraded write)")
  const marks = counter("cairn_repair_missing_shards_written_total", "Shards missing since a degraded write that repair found in place or wrote")
  const degradedSweeps = counter("cairn_repair_degraded_sweeps_total", "Sweeps of the dirty set (bodies written degraded) this node completed as leader")
  const gcSweeps = counter("cairn_gc_sweeps_total", "Garbage-collection sweeps this node completed")
  const gcShards = counter("cairn_gc_shards_removed_total", "Unreferenced shards this node's GC removed")
  const gcParts = counter("cairn_gc_part_records_removed_total", "Part records of vanished uploads this node's GC removed")
  const rebalanceMoved = counter("cairn_rebalance_shards_moved_total", "Shards this node moved to where placement puts them now (as leader, after a membership or weight change)")
  const rebalanceBytes = counter("cairn_rebalance_bytes_moved_total", "Bytes of shards this node's rebalancing copied")
  const rebalanceDeferred = counter("cairn_rebalance_shards_deferred_total", "Misplaced shards rebalancing could not move when it tried (a node did not answer, a record changed); a later pass tries again")
  const rebalanceRecords = counter("cairn_rebalance_records_checked_total", "Object and part records this node's rebalancing walked")
  let lastRebalance: RebalanceCursor | undefined
  let lastRepair: { readonly lost: number; readonly unavailable: number; readonly records: number; readonly at: number } | undefined
  let lastGc: { readonly orphans: number; readonly misplaced: number; readonly at: number } | undefined
  let lastDegraded: { readonly entries: number; readonly still: number } | undefined
  new Gauge({
    name: "cairn_repair_unrepaired_stripes",
    help: "After the last repair sweep, stripes still short of full redundancy: reason=lost (fewer than k healthy shards) or unavailable (too many nodes silent); exported by the leader only",
    labelNames: ["reason"],
    registers,
    collect() {
      this.reset()
      if (lastRepair === undefined || !isLeader()) return
      this.set({ reason: "lost" }, lastRepair.lost)
      this.set({ reason: "unavailable" }, lastRepair.unavailable)
    }
  })
  const lastGauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const v = read()
        if (v === undefined) this.reset()
        else this.set(v)
      }
    })
  /** A figure only the leader's sweeps know: NaN on a follower, or before the first sweep (0 would claim "none"). */
  const leaderGauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const v = isLeader() ? read() : undefined
        this.set(v ?? Number.NaN)
      }
    })
  leaderGauge("cairn_repair_degraded_records", "Records still short of shards after the last dirty-set sweep (written degraded; their missing shards' nodes did not answer); NaN except on the leader", () =>
    lastDegraded?.still)
  leaderGauge("cairn_repair_dirty_set_entries", "Entries in the dirty set at the last dirty-set sweep; NaN except on the leader", () => lastDegraded?.entries)
  lastGauge("cairn_repair_last_sweep_records", "Object and part records the last repair sweep on this node walked", () => lastRepair?.records)
  lastGauge("cairn_repair_last_sweep_timestamp_seconds", "When this node last completed a repair sweep (Unix time)", () => lastRepair?.at)
  leaderGauge("cairn_rebalance_pass_done", "1 when the leader's rebalance pass for the current members is done, 0 while it moves shards; NaN except on the leader", () =>
    lastRebalance === undefined ? undefined : lastRebalance.done ? 1 : 0)
  leaderGauge("cairn_rebalance_pass_records", "Records the current rebalance pass has walked; NaN except on the leader", () => lastRebalance?.records)
  leaderGauge("cairn_rebalance_shards_pending", "Misplaced shards the current pass found and could not move yet (the next pass tries again); NaN except on the leader", () =>
    lastRebalance?.shardsDeferred)
  lastGauge("cairn_gc_misplaced_shards", "Shards of live bodies on this node that their records place elsewhere (old copies of moved shards; removed after the grace period)", () => lastGc?.misplaced)
  lastGauge("cairn_gc_orphan_shards", "Unreferenced shards the last GC sweep on this node found (removed once unreferenced for the grace period)", () => lastGc?.orphans)
  lastGauge("cairn_gc_last_sweep_timestamp_seconds", "When this node last completed a GC sweep (Unix time)", () => lastGc?.at)

  /** The shard counters both kinds of repair sweep add to. */
  const countShards = (r: RepairReport) => {
    checked.inc(r.shardsChecked)
    rebuilt.inc(r.shardsRebuilt)
    moved.inc(r.shardsMoved)
    marks.inc(r.marksCleared)
  }

  return (event) => {
    const at = Date.now() / 1000
    if (event.kind === "repair-degraded") {
      const r = event.report
      degradedSweeps.inc()
      countShards(r)
      lastDegraded = { entries: r.records, still: r.stillDegraded }
      if (r.marksCleared > 0 || r.lost.length > 0) {
        log(r.lost.length > 0 ? "error" : "info", "repair: degraded bodies", { entries: r.records, written: r.marksCleared, stillDegraded: r.stillDegraded, lost: r.lost.slice(0, 20) })
      }
    } else if (event.kind === "repair") {
      const r = event.report
      repairSweeps.inc()
      countShards(r)
      lastRepair = { lost: r.lost.length, unavailable: r.unavailable.length, records: r.records, at }
      const fields = { records: r.records, shardsChecked: r.shardsChecked, shardsRebuilt: r.shardsRebuilt, shardsMoved: r.shardsMoved, lost: r.lost.length, unavailable: r.unavailable.length }
      if (r.lost.length > 0) log("error", "repair: stripes lost (fewer healthy shards than needed to rebuild)", { ...fields, lostStripes: r.lost.slice(0, 20) })
      else if (r.unavailable.length > 0) log("warn", "repair: stripes left degraded (too many nodes did not answer)", { ...fields, stripes: r.unavailable.slice(0, 20) })
      else log(r.shardsRebuilt > 0 ? "info" : "debug", "repair sweep done", fields)
    } else if (event.kind === "rebalance") {
      const r = event.report
      rebalanceMoved.inc(r.shardsMoved)
      rebalanceBytes.inc(r.bytesMoved)
      rebalanceDeferred.inc(r.shardsDeferred)
      rebalanceRecords.inc(r.records)
      const finished = r.cursor.done && lastRebalance?.done !== true
      lastRebalance = r.cursor
      if (r.shardsMoved > 0 || finished || r.passEnded) {
        log(r.shardsMoved > 0 ? "info" : "debug", "rebalance step", { records: r.records, shardsMoved: r.shardsMoved, bytesMoved: r.bytesMoved, deferred: r.shardsDeferred, passDone: r.cursor.done, pass: r.cursor.pass })
      }
    } else {
      const r = event.report
      gcSweeps.inc()
      gcShards.inc(r.removedShards)
      gcParts.inc(r.removedPartRecords)
      lastGc = { orphans: r.orphanShards, misplaced: r.misplacedShards, at }
      log(r.removedShards > 0 || r.removedPartRecords > 0 ? "info" : "debug", "gc sweep done", { ...r })
    }
  }
}

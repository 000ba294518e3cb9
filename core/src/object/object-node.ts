/**
 * The object layer of one node: its shard store, shard transfer with the
 * other nodes, the `ObjectStore` (metadata through this node's KV server),
 * and the background loops — garbage collection on every node, repair on the
 * Raft leader only.
 *
 * Rebalancing (rebalance.ts) runs on the leader too: every
 * `rebalance.intervalMs` it checks whether the members changed since the
 * stored pass, and if so moves shards, throttled, until the pass is done.
 *
 * The erasure scheme is a cluster setting: the first node to need it stores
 * the configured (or default) scheme under a reserved KV key with a
 * compare-and-set, and every node uses the stored one from then on, so
 * nodes started with different `--ec` flags still agree.
 */
import { Effect, Scope } from "effect"
import { withCrc32c } from "../checksum/crc32c-service.ts"
import { Clock } from "../clock/clock.ts"
import type { Disk } from "../disk/disk.ts"
import type { KvClient } from "../kv/client.ts"
import { makeLocalKvClient } from "../kv/local-client.ts"
import type { KvServer } from "../kv/server.ts"
import type { Network } from "../network/network.ts"
import type { NodeId } from "../node/node-id.ts"
import { Random } from "../random/random.ts"
import { makeShardStore, type ShardReadError } from "../shard-store/shard-store.ts"
import type { FrameDemux } from "../transport/frame-demux.ts"
import { makeGarbageCollector, type GarbageCollector, type SweepReport } from "./garbage.ts"
import { makeObjectData } from "./object-data.ts"
import { makeObjectStore } from "./object-store.ts"
import type { PlacementNode } from "./placement.ts"
import { makeRebalancer, type RebalanceSettings, type RebalanceStep, type Rebalancer } from "./rebalance.ts"
import { membershipOf } from "./rebalance-cursor.ts"
import { makeRepairer, type RepairReport, type Repairer } from "./repair.ts"
import { defaultScheme, formatScheme, parseScheme, type ErasureScheme } from "./scheme.ts"
import { makeShardTransfer, SHARD_REQUEST_KIND, SHARD_RESPONSE_KIND, type ShardTransfer } from "./shard-transfer.ts"
import { ObjectStoreUnavailableError, type ObjectStore } from "./object-api.ts"

/** Where the cluster's scheme is kept once chosen. */
export const SCHEME_KEY = "\u0000c/ec-scheme"

export interface ObjectNodeConfig {
  readonly self: NodeId
  readonly kv: KvServer
  /** The node's frame demultiplexer: shard transfer registers its kinds (66 and 67) on it. */
  readonly frames: FrameDemux
  /** The cluster's members, for placing new shards and relocating lost ones. */
  readonly members: () => ReadonlyArray<PlacementNode>
  /** The scheme to propose at bootstrap (K+M); default: `defaultScheme` of the member count. */
  readonly scheme?: ErasureScheme
  readonly shardDir?: string
  readonly maxWriteMs?: number
  readonly gcIntervalMs?: number
  readonly repairIntervalMs?: number
  /** How often the leader repairs the bodies written degraded (the dirty set); default 10 s. */
  readonly degradedRepairIntervalMs?: number
  /** A missing-at-write shard whose node has not answered this long moves to a free member (default 10 min). */
  readonly relocateMissingAfterMs?: number
  /** Shards beyond k a write must store before it is acknowledged (see object-data.ts); default 0. */
  readonly spareShards?: number
  readonly transferTimeoutMs?: number
  readonly kvTimeoutMs?: number
  /**
   * Rebalancing (rebalance.ts): its throttle, how often the leader checks for a membership change
   * (default 5 s), how long it waits before another pass when one left shards unmoved (default 60 s);
   * "off": never (the simulator's seeds that add no node, whose traces predate rebalancing).
   */
  readonly rebalance?: (RebalanceSettings & { readonly intervalMs?: number; readonly retryAfterMs?: number }) | "off"
  /** Test-only: a known bug for the simulator to find (see garbage.ts). */
  readonly plantedBug?: "gc-without-grace"
  /** Told about every background sweep (metrics, the simulator's coverage). */
  readonly onSweep?: (
    report:
      | { readonly kind: "repair"; readonly report: RepairReport }
      | { readonly kind: "repair-degraded"; readonly report: RepairReport }
      | { readonly kind: "gc"; readonly report: SweepReport }
      | { readonly kind: "rebalance"; readonly report: RebalanceStep }
  ) => void
}

export interface ObjectNode {
  readonly store: ObjectStore
  readonly kv: KvClient
  readonly transfer: ShardTransfer
  readonly garbage: GarbageCollector
  readonly repairer: Repairer
  readonly rebalancer: Rebalancer
  /** The cluster's scheme, as stored (undefined for a one-node cluster). */
  readonly scheme: Effect.Effect<ErasureScheme | undefined, ObjectStoreUnavailableError>
  /** Garbage collection and (on the leader) repair, forever. */
  readonly background: Effect.Effect<never>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const makeObjectNode = (config: ObjectNodeConfig): Effect.Effect<ObjectNode, ShardReadError, Clock | Random | Disk | Network | Scope.Scope> =>
  Effect.gen(function*() {
    // The Crc32c service (native in production, pure in the simulator) is read with the Clock, in the
    // operations reading the Clock alone took (the simulator counts them), and passed to every part below.
    const [clock, checksum] = yield* withCrc32c(Clock)
    const shards = yield* makeShardStore({ dir: config.shardDir ?? "shards" })
    const transfer = yield* makeShardTransfer({ self: config.self, store: shards, timeoutMs: config.transferTimeoutMs ?? 5_000 })
    config.frames.register("shard-transfer", [SHARD_REQUEST_KIND, SHARD_RESPONSE_KIND], (from, kind, body) =>
      // One generator around the transfer's handler, as when these frames came through the KV
      // server's dispatch: the simulator's scheduler counts Effect operations, and this keeps the
      // count per frame, and so every simulated run, as it was.
      Effect.gen(function*() {
        yield* transfer.onFrame(from, kind, body)
      }))
    const kvTimeoutMs = config.kvTimeoutMs ?? 2_000
    const kv = yield* makeLocalKvClient(config.kv, { clientId: `objects-${config.self}`, requestTimeoutMs: kvTimeoutMs, deadlineMs: kvTimeoutMs * 5 })

    let chosen: ErasureScheme | undefined | "unknown" = "unknown"
    const scheme: ObjectNode["scheme"] = Effect.gen(function*() {
      if (chosen !== "unknown") return chosen
      const members = config.members().length
      if (members < 2) return chosen = undefined
      const unavailable = (e: { readonly message: string }) => new ObjectStoreUnavailableError({ message: e.message, ambiguous: false })
      for (;;) {
        const stored = yield* Effect.mapError(kv.read({ op: "get", key: SCHEME_KEY }), unavailable)
        if (stored.type === "get" && stored.found) return chosen = parseScheme(decoder.decode(stored.value))
        const proposal = config.scheme ?? defaultScheme(members)
        yield* Effect.mapError(kv.write({ op: "cas", key: SCHEME_KEY, expected: "absent", value: encoder.encode(formatScheme(proposal)) }), unavailable)
      }
    })

    const data = makeObjectData({ transfer, nodes: config.members, scheme, checksum, ...(config.spareShards === undefined ? {} : { spareShards: config.spareShards }) })
    const maxWriteMs = config.maxWriteMs ?? 30 * 60_000
    const store = yield* makeObjectStore({ kv, data, checksum, maxWriteMs })
    const garbage = yield* makeGarbageCollector({ self: config.self, store: shards, kv, graceMs: config.plantedBug === "gc-without-grace" ? 0 : 2 * maxWriteMs })
    const repairer = makeRepairer({
      kv,
      checksum,
      transfer,
      nodes: config.members,
      monotonicMs: clock.monotonicMs,
      staleEntryMs: 2 * maxWriteMs,
      ...(config.relocateMissingAfterMs === undefined ? {} : { relocateMissingAfterMs: config.relocateMissingAfterMs })
    })

    const rebalanceSettings = config.rebalance === "off" ? undefined : config.rebalance ?? {}
    const rebalancer = makeRebalancer({ clock, kv, transfer, nodes: config.members, maxMoveMs: maxWriteMs, ...rebalanceSettings })

    const report = config.onSweep ?? (() => {})
    const gcLoop = Effect.forever(
      Effect.andThen(
        clock.sleep(config.gcIntervalMs ?? 60_000),
        Effect.ignore(Effect.tap(garbage.sweep, (r) => Effect.sync(() => report({ kind: "gc", report: r }))))
      )
    )
    /** Runs `sweep` every `intervalMs` while this node leads (one repairer at a time). */
    const onLeaderEvery = (intervalMs: number, kind: "repair" | "repair-degraded", sweep: Repairer["sweep"]) =>
      Effect.forever(
        Effect.andThen(
          clock.sleep(intervalMs),
          Effect.flatMap(config.kv.raft.status, (status) =>
            status.role === "leader"
              ? Effect.ignore(Effect.tap(sweep, (r) => Effect.sync(() => report(kind === "repair" ? { kind, report: r } : { kind, report: r }))))
              : Effect.void)
        )
      )
    const isLeader = Effect.map(config.kv.raft.status, (status) => status.role === "leader")
    /** A pass that asked to wait (a retry, the settling pass): until when, and for which member list. */
    let paused: { readonly until: number; readonly membership: string } | undefined
    /**
     * Steps through the current pass while this node leads; stops when it is done, or when it must
     * wait: the wait ends early when the members change (a new pass starts at once).
     */
    const rebalancePass = (retryAfterMs: number) =>
      Effect.gen(function*() {
        while (yield* isLeader) {
          const now = yield* clock.monotonicMs
          if (paused !== undefined && paused.membership === membershipOf(config.members()) && now < paused.until) return
          paused = undefined
          const step = yield* rebalancer.step
          report({ kind: "rebalance", report: step })
          if (step.cursor.done) return
          // Writes that chose their nodes before the change commit within maxWriteMs, or never.
          if (step.passEnded !== undefined) {
            paused = { until: now + (step.passEnded === "retry" ? retryAfterMs : maxWriteMs), membership: step.cursor.membership }
            return
          }
        }
      })
    const rebalanceLoop = rebalanceSettings === undefined
      ? Effect.never
      : Effect.forever(Effect.andThen(clock.sleep(rebalanceSettings.intervalMs ?? 5_000), Effect.ignore(rebalancePass(rebalanceSettings.retryAfterMs ?? 60_000))))
    const repairLoop = onLeaderEvery(config.repairIntervalMs ?? 300_000, "repair", repairer.sweep)
    const degradedLoop = onLeaderEvery(config.degradedRepairIntervalMs ?? 10_000, "repair-degraded", repairer.sweepDegraded)

    return {
      store,
      kv,
      transfer,
      garbage,
      repairer,
      rebalancer,
      scheme,
      background: Effect.raceAll(rebalanceSettings === undefined ? [gcLoop, repairLoop, degradedLoop] : [gcLoop, repairLoop, degradedLoop, rebalanceLoop]) as Effect.Effect<never>
    }
  })

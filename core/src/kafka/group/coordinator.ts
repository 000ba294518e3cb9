/**
 * Cairn's Kafka group coordinator: the `GroupCoordinator` the broker hands
 * the ten group APIs to (`kafka/broker/group-port.ts`). It coordinates the
 * groups that `placement.ts` assigns to this node, keeps each one's state
 * machine in memory with its record in the Raft KV (`group-store.ts`) and
 * the group's offsets in the log's consumer offsets, and runs one timer
 * that expires sessions and completes join barriers on the node's Clock
 * (so the simulator and tests drive it on virtual time).
 *
 * Build it once per node, in a scope: closing the scope stops the timer.
 */
import { Effect, type Scope } from "effect"
import { Clock } from "../../clock/clock.ts"
import type { KvClient } from "../../kv/client.ts"
import { makeConsumerOffsets } from "../../log/service/consumer-offsets.ts"
import { Random } from "../../random/random.ts"
import type { BrokerDirectory, GroupApiName, GroupCoordinator, GroupRequestContext } from "../broker/group-port.ts"
import type { RequestOf, ResponseOf } from "../protocol/api-table.ts"
import { makeAdminApis } from "./admin-apis.ts"
import { makeFindCoordinator, ownsGroup } from "./find-coordinator.ts"
import { defaultGroupConfig, type GroupConfig } from "./group.ts"
import { makeGroupRegistry, type GroupRegistry } from "./group-registry.ts"
import { makeGroupStore } from "./group-store.ts"
import { makeMembershipApis } from "./membership-apis.ts"
import { makeOffsetApis } from "./offset-apis.ts"

export interface GroupCoordinatorOptions {
  readonly kv: KvClient
  readonly directory: BrokerDirectory
  readonly config?: Partial<GroupConfig>
  /** How often sessions and barriers are checked (ms); timeouts fire up to this late. */
  readonly tickMs?: number
  /** Whether a partition exists (OffsetCommit answers UNKNOWN_TOPIC_OR_PARTITION otherwise). */
  readonly partitionExists?: (topic: string, partition: number) => Effect.Effect<boolean>
}

type Handlers = { readonly [N in GroupApiName]: (body: RequestOf<N>, context: GroupRequestContext) => Effect.Effect<ResponseOf<N>> }

export interface CairnGroupCoordinator extends GroupCoordinator {
  /** For tests: the registry (groups in memory, parked requests). */
  readonly registry: GroupRegistry
}

export const makeGroupCoordinator = (options: GroupCoordinatorOptions): Effect.Effect<CairnGroupCoordinator, never, Clock | Random | Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Clock
    const random = (yield* Random).split("kafka-group-coordinator")
    const config: GroupConfig = { ...defaultGroupConfig, ...options.config }
    const store = makeGroupStore(options.kv)
    const offsets = makeConsumerOffsets(options.kv)
    const registry = makeGroupRegistry({ store, config, clock })
    const owns = ownsGroup(options.directory)
    // A committer name per coordinator instance: its sequence numbers restart with it.
    const committer = `kafka-coordinator/${options.directory.self}/${(yield* random.nextUint32).toString(16)}${(yield* random.nextUint32).toString(16)}`

    const membership = makeMembershipApis({ registry, owns, random })
    const offsetApis = makeOffsetApis({ registry, store, owns, offsets, committer, ...(options.partitionExists === undefined ? {} : { partitionExists: options.partitionExists }) })
    const admin = makeAdminApis({ registry, store, owns, offsets })
    const handlers: Handlers = {
      FindCoordinator: makeFindCoordinator(options.directory),
      JoinGroup: membership.joinGroup,
      SyncGroup: membership.syncGroup,
      Heartbeat: membership.heartbeat,
      LeaveGroup: membership.leaveGroup,
      OffsetCommit: offsetApis.offsetCommit,
      OffsetFetch: offsetApis.offsetFetch,
      DescribeGroups: admin.describeGroups,
      ListGroups: admin.listGroups,
      DeleteGroups: admin.deleteGroups
    }

    const tickMs = options.tickMs ?? 100
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(clock.sleep(tickMs), registry.tickAll(owns))))

    const handle = <N extends GroupApiName>(api: N, body: RequestOf<N>, context: GroupRequestContext): Effect.Effect<ResponseOf<N>> =>
      // The record of handlers is keyed by API name, so handlers[api] takes RequestOf<N>; TypeScript cannot correlate the two.
      (handlers[api] as (body: RequestOf<N>, context: GroupRequestContext) => Effect.Effect<ResponseOf<N>>)(body, context)

    return { handle, registry }
  })

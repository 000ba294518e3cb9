/**
 * @cairn/runtime-node: the core's services bound to the operating system —
 * the system clock, a crypto-seeded Random, real files through io_uring
 * (libuv as the fallback), TCP between the cluster's peers and the native
 * CRC32C. `NodeServicesLive` assembles them for one node.
 */
import type { Clock, Disk, Network, NodeId, Random } from "@cairn/core"
import { Layer } from "effect"
import { NativeCrc32cLive } from "./checksum/native-crc32c.ts"
import { SystemClockLive } from "./clock/system-clock.ts"
import { diskLayer } from "./disk/io-uring-disk.ts"
import { SystemRandomLive } from "./random/system-random.ts"
import {
  parsePeers,
  tcpNetworkLayer,
  type NetworkListenError,
  type PeerAddress,
  type TcpNetworkConfig
} from "./network/tcp-network.ts"

export * from "./checksum/native-crc32c.ts"
export * from "./clock/system-clock.ts"
export * from "./random/system-random.ts"
export * from "./disk/io-uring-disk.ts"
export { libuvDisk } from "./disk/libuv-disk.ts"
export * from "./network/tcp-network.ts"

export interface NodeServicesConfig {
  /** The node's data directory (created if missing). */
  readonly dataDir: string
  readonly nodeId: NodeId
  /** The cluster, as `id=host:port` strings or a parsed map; may include this node. */
  readonly peers: ReadonlyArray<string> | ReadonlyMap<NodeId, PeerAddress>
  /** The shared cluster secret peers authenticate each other with. */
  readonly secret: string | Uint8Array
  /** Where to listen; default this node's entry in `peers`. */
  readonly listen?: PeerAddress
  /** "auto" (default, or CAIRN_DISK), "io_uring" (fail without it) or "libuv". */
  readonly disk?: "auto" | "io_uring" | "libuv"
  /** Tuning of the TCP network (queues, backoff, timeouts). */
  readonly network?: Omit<TcpNetworkConfig, "self" | "peers" | "secret" | "listen">
}

/**
 * Clock, Random, Disk and Network of one production node, and the native
 * Crc32c (which the network's frames use too). The Disk logs which backend it
 * chose; the network listens until the layer's scope closes.
 */
export const NodeServicesLive = (
  config: NodeServicesConfig
): Layer.Layer<Clock | Random | Disk | Network, NetworkListenError> => {
  const peers = Array.isArray(config.peers)
    ? parsePeers(config.peers as ReadonlyArray<string>)
    : (config.peers as ReadonlyMap<NodeId, PeerAddress>)
  return Layer.mergeAll(
    SystemClockLive,
    SystemRandomLive,
    diskLayer(config.dataDir, config.disk),
    tcpNetworkLayer({
      ...config.network,
      self: config.nodeId,
      peers,
      secret: config.secret,
      ...(config.listen === undefined ? {} : { listen: config.listen })
    })
  ).pipe(Layer.provideMerge(NativeCrc32cLive))
}

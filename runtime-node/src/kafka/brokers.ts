/**
 * The Kafka brokers of the cluster (`BrokerDirectory`): every member that
 * runs a Kafka listener publishes the address clients reach it at under
 * the reserved key `\0cairn/kafka/{id}` (node-records.ts: written until it
 * lands, removed when the node runs without a listener), and every node
 * reads all of them back.
 *
 * Broker ids are derived from node ids (a 31-bit hash), so a node's id
 * never changes across restarts, on any node, and needs no allocation. Two
 * node ids that hash alike would be a collision Kafka clients cannot
 * tolerate: the later one in id order is left out and a warning says so
 * (with at most a few dozen members the odds are below one in a million).
 */
import type { KvServer, NodeId } from "@cairn/core"
import type { BrokerAddress, BrokerDirectory } from "@cairn/core/kafka/broker/group-port"
import { Effect } from "effect"
import { log } from "../log/log.ts"
import { makeNodeRecords } from "../server/node-records.ts"

export const KAFKA_PREFIX = "\u0000cairn/kafka/"

/** A node's broker id: FNV-1a of its id, in 1..2^31-1 (Kafka's broker ids are non-negative int32). */
export const brokerIdOf = (node: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < node.length; i++) h = Math.imul(h ^ node.charCodeAt(i), 0x01000193) >>> 0
  return (h & 0x7fffffff) || 1
}

const parseAddress = (value: string): { readonly host: string; readonly port: number } | undefined => {
  try {
    const v = JSON.parse(value) as { host?: unknown; port?: unknown }
    if (typeof v.host !== "string" || v.host === "" || typeof v.port !== "number" || !Number.isInteger(v.port) || v.port < 1 || v.port > 65535) return undefined
    return { host: v.host, port: v.port }
  } catch {
    return undefined
  }
}

export interface KafkaBrokers extends BrokerDirectory {
  /** Publishes this node's address and refreshes everyone's; runs forever. */
  readonly sync: Effect.Effect<never>
}

export interface KafkaBrokersConfig {
  readonly self: NodeId
  /** Where clients reach this node's listener; undefined: it runs none (its record is removed). */
  readonly advertised: { readonly host: string; readonly port: number } | undefined
  readonly requestTimeoutMs: number
  /** The current members (a record of a removed node is not a broker). */
  readonly members: () => ReadonlyArray<NodeId>
  /** A member's zone, Kafka's rack. */
  readonly zoneOf: (node: NodeId) => string | undefined
}

export const makeKafkaBrokers = (config: KafkaBrokersConfig, kv: Pick<KvServer, "query" | "submit">): KafkaBrokers => {
  const records = makeNodeRecords({
    self: config.self,
    prefix: KAFKA_PREFIX,
    what: "kafka address",
    value: config.advertised === undefined ? undefined : JSON.stringify(config.advertised),
    valid: (v) => parseAddress(v) !== undefined,
    requestTimeoutMs: config.requestTimeoutMs
  }, kv)
  const warned = new Set<string>()

  const list = (): ReadonlyArray<{ readonly node: NodeId; readonly address: BrokerAddress }> => {
    const members = new Set(config.members())
    const byId = new Map<number, NodeId>()
    const out: Array<{ node: NodeId; address: BrokerAddress }> = []
    const published = new Map(records.all())
    // This node's own listener counts at once, before its record has gone round the KV.
    if (config.advertised !== undefined) published.set(config.self, JSON.stringify(config.advertised))
    for (const [id, value] of [...published].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const node = id as NodeId
      const address = parseAddress(value)
      if (address === undefined || (!members.has(node) && node !== config.self)) continue
      const brokerId = brokerIdOf(node)
      const clash = byId.get(brokerId)
      if (clash !== undefined) {
        if (!warned.has(node)) log("warn", "two nodes have the same Kafka broker id; the second is left out of Metadata", { node, other: clash, brokerId })
        warned.add(node)
        continue
      }
      byId.set(brokerId, node)
      out.push({ node, address: { brokerId, host: address.host, port: address.port, rack: config.zoneOf(node) ?? null } })
    }
    return out
  }

  return {
    self: config.self,
    brokers: Effect.sync(list),
    brokerOf: (node) => Effect.sync(() => list().find((b) => b.node === node)?.address),
    sync: records.sync
  }
}

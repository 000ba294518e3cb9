/**
 * Kafka topic ids (Metadata v10+, Fetch v13+, DeleteTopics v6+): a UUID per
 * topic incarnation. Cairn's topic record already carries a unique id per
 * incarnation (`TopicMeta.id`, drawn at creation), so the Kafka id is
 * derived from it — stable on every node and across restarts, and a topic
 * deleted and created again gets another. Nothing needs storing.
 */
import type { TopicMeta } from "../../log/topics/topic-meta.ts"

/** FNV-1a over `s`, starting from `seed`. */
const fnv = (s: string, seed: number): number => {
  let h = seed >>> 0
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0
  return h
}

const SEEDS = [0x811c9dc5, 0x050c5d1f, 0x2545f491, 0x9e3779b9] as const

/** The topic's Kafka id: 16 bytes from four seeded hashes of its Cairn id; never all zero (Kafka's "no id"). */
export const kafkaTopicId = (meta: Pick<TopicMeta, "id">): Uint8Array => {
  const out = new Uint8Array(16)
  const view = new DataView(out.buffer)
  SEEDS.forEach((seed, i) => view.setUint32(4 * i, fnv(`cairn-topic:${meta.id}`, seed)))
  if (out.every((b) => b === 0)) out[15] = 1
  return out
}

export const sameId = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** The topic with this Kafka id among `topics`, if any. */
export const topicById = (topics: ReadonlyMap<string, TopicMeta>, id: Uint8Array): TopicMeta | undefined => {
  for (const meta of topics.values()) if (sameId(kafkaTopicId(meta), id)) return meta
  return undefined
}

export const isZeroId = (id: Uint8Array): boolean => id.every((b) => b === 0)

/**
 * `cairn log`: the streaming log from the command line, through any node's
 * HTTP log API (docs/log.md, "The command line"):
 *
 *   cairn log topic create|list|describe|grow|delete
 *   cairn log produce --topic T --partition P [--value V | lines from stdin]
 *   cairn log consume --topic T --partition P --from-beginning|--offset N|--group G [--follow]
 *   cairn log offsets commit|fetch --group G --topic T --partition P
 *
 * Input is checked here first (a bad name or number is exit 2 with the
 * rule); a refusal from the server is exit 1 with what to do about it.
 */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { createInterface } from "node:readline"
import { common, type Common } from "./cluster-command.ts"
import { logCall, usage } from "./log-api-client.ts"
import { consume, offsetsCommand } from "./log-consume-command.ts"
import { checkTopic, optional, optionalNumber, partitionFlag, printJson, topicFlag, topicPath, wholeNumber } from "./log-flags.ts"

// ---- topics -------------------------------------------------------------------------

const create = Command.make(
  "create",
  {
    ...common,
    topic: topicFlag,
    partitions: Flag.String("partitions").pipe(Flag.withDescription("number of partitions (1-1024)")),
    replicationFactor: optionalNumber("replication-factor", "replicas per partition (default 3, or the node count if smaller)"),
    retentionMs: optionalNumber("retention-ms", "delete sealed segments older than this (default: keep)"),
    retentionBytes: optionalNumber("retention-bytes", "delete the oldest sealed segments while a partition stays above this (default: keep)"),
    maxMessageBytes: optionalNumber("max-message-bytes", "largest batch a producer may append (default 1 MiB)")
  },
  (flags) =>
    Effect.gen(function*() {
      const body = {
        name: yield* checkTopic(flags.topic),
        partitions: yield* wholeNumber("partitions", flags.partitions, 1),
        replicationFactor: yield* optional("replication-factor", flags.replicationFactor, 1),
        retentionMs: yield* optional("retention-ms", flags.retentionMs),
        retentionBytes: yield* optional("retention-bytes", flags.retentionBytes),
        maxMessageBytes: yield* optional("max-message-bytes", flags.maxMessageBytes, 1)
      }
      yield* printJson(yield* logCall(flags, { method: "POST", path: "/v1/log/topics", body }))
    })
).pipe(Command.withDescription("create a topic (needs the admin's key)"))

const list = Command.make("list", common, (flags) =>
  Effect.gen(function*() {
    const answer = yield* logCall(flags, { method: "GET", path: "/v1/log/topics" })
    const topics = (answer.topics ?? []) as ReadonlyArray<{ name: string; partitions: number; replicationFactor: number }>
    if (topics.length === 0) return yield* Console.log("no topics")
    for (const t of topics) yield* Console.log(`${t.name}\tpartitions=${t.partitions}\treplicationFactor=${t.replicationFactor}`)
  })).pipe(Command.withDescription("list the topics"))

const describe = Command.make("describe", { ...common, topic: topicFlag }, (flags) =>
  Effect.flatMap(checkTopic(flags.topic), (topic) => Effect.flatMap(logCall(flags, { method: "GET", path: topicPath(topic) }), printJson))).pipe(
    Command.withDescription("a topic's settings and each partition's replicas")
  )

const grow = Command.make("grow", { ...common, topic: topicFlag, partitions: Flag.String("partitions").pipe(Flag.withDescription("the new number of partitions (never fewer)")) }, (flags) =>
  Effect.gen(function*() {
    const topic = yield* checkTopic(flags.topic)
    const partitions = yield* wholeNumber("partitions", flags.partitions, 1)
    yield* printJson(yield* logCall(flags, { method: "POST", path: `${topicPath(topic)}/partitions`, body: { partitions } }))
  })).pipe(Command.withDescription("add partitions to a topic (needs the admin's key)"))

const remove = Command.make("delete", { ...common, topic: topicFlag }, (flags) =>
  Effect.flatMap(checkTopic(flags.topic), (topic) => Effect.flatMap(logCall(flags, { method: "DELETE", path: topicPath(topic) }), printJson))).pipe(
    Command.withDescription("delete a topic and its records (needs the admin's key)")
  )

const topicCommand = Command.make("topic").pipe(Command.withDescription("create, list, describe, grow and delete topics"), Command.withSubcommands([create, list, describe, grow, remove]))

/** Lines read from stdin go in requests of at most this many records or bytes. */
const LINES_PER_REQUEST = 1000
const BYTES_PER_REQUEST = 256 * 1024

// ---- produce ------------------------------------------------------------------------

interface Target {
  readonly flags: Common
  readonly path: string
}

interface Totals {
  records: number
  first: number | undefined
  last: number | undefined
}

const sendRecords = (target: Target, records: ReadonlyArray<{ key: string | null; value: string }>, totals: Totals) =>
  Effect.gen(function*() {
    const answer = yield* logCall(target.flags, { method: "POST", path: target.path, body: { records } })
    totals.records += records.length
    totals.first ??= Number(answer.baseOffset)
    totals.last = Number(answer.lastOffset)
  })

/** Lines of stdin, sent in requests of up to LINES_PER_REQUEST records or BYTES_PER_REQUEST bytes. */
const produceStdin = (target: Target, key: string | null, totals: Totals) =>
  Effect.gen(function*() {
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]()
    let pending: Array<{ key: string | null; value: string }> = []
    let bytes = 0
    for (;;) {
      const next = yield* Effect.promise(() => lines.next())
      if (!next.done) {
        pending.push({ key, value: next.value })
        bytes += next.value.length
      }
      if (pending.length > 0 && (next.done === true || pending.length >= LINES_PER_REQUEST || bytes >= BYTES_PER_REQUEST)) {
        yield* sendRecords(target, pending, totals)
        pending = []
        bytes = 0
      }
      if (next.done === true) return
    }
  })

const produce = Command.make(
  "produce",
  {
    ...common,
    topic: topicFlag,
    partition: partitionFlag,
    value: Flag.String("value").pipe(Flag.optional, Flag.withDescription("one record's value (default: each line of stdin is a record)")),
    key: Flag.String("key").pipe(Flag.optional, Flag.withDescription("the key of every record sent"))
  },
  (flags) =>
    Effect.gen(function*() {
      const topic = yield* checkTopic(flags.topic)
      const partition = yield* wholeNumber("partition", flags.partition)
      const target = { flags, path: `${topicPath(topic)}/partitions/${partition}/records` }
      const key = Option.getOrNull(flags.key)
      const totals: Totals = { records: 0, first: undefined, last: undefined }
      if (Option.isSome(flags.value)) yield* sendRecords(target, [{ key, value: flags.value.value }], totals)
      else yield* produceStdin(target, key, totals)
      if (totals.records === 0) return yield* usage("nothing to produce: pass --value, or pipe lines into stdin")
      yield* Console.error(`produced ${totals.records} record(s) to ${topic}/${partition} at offsets ${totals.first}..${totals.last}`)
    })
).pipe(Command.withDescription("append records to a partition: --value, or one record per line of stdin (acknowledged once on a majority of its replicas)"))

export const logCommand = Command.make("log").pipe(
  Command.withDescription("the streaming log: topics, produce, consume, consumer group offsets (docs/log.md)"),
  Command.withSubcommands([topicCommand, produce, consume, offsetsCommand])
)

/**
 * `cairn log consume` and `cairn log offsets commit|fetch`. A consume reads
 * a partition from where it is told (`--from-beginning`, `--offset N`, or a
 * consumer group's committed offset) up to the high watermark it finds, or
 * on and on with `--follow`; with `--group` it commits the offset after the
 * last record it printed when it stops (at most `--max-records`).
 */
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { common, type Common } from "./cluster-command.ts"
import { logCall, type LogCommandError, usage } from "./log-api-client.ts"
import { checkTopic, optional, partitionFlag, printJson, topicFlag, topicPath, wholeNumber } from "./log-flags.ts"

const groupFlag = Flag.String("group").pipe(Flag.withDescription("the consumer group"))
/** How long a `--follow` consume waits before asking again once it has read everything. */
const POLL_MS = 500

interface Fetched {
  readonly records: ReadonlyArray<Record<string, unknown>>
  readonly nextOffset: number
  readonly highWatermark: number
}

const groupPath = (group: string, topic: string, partition: number) =>
  `/v1/log/groups/${encodeURIComponent(group)}/offsets/${encodeURIComponent(topic)}/${partition}`

/** Where to start: the flags, else the group's committed offset, else (a group that never committed) the beginning. */
const startOffset = (flags: Common, start: { readonly fromBeginning: boolean; readonly offset: number | undefined; readonly group: string | undefined }, topic: string, partition: number) =>
  Effect.gen(function*() {
    if (start.fromBeginning && start.offset !== undefined) return yield* usage("pass --from-beginning or --offset, not both")
    if (start.fromBeginning) return "earliest"
    if (start.offset !== undefined) return String(start.offset)
    if (start.group === undefined) return yield* usage("say where to start: --from-beginning, --offset N, or --group G (its committed offset)")
    const committed = yield* logCall(flags, { method: "GET", path: groupPath(start.group, topic, partition) })
    return typeof committed.offset === "number" ? String(committed.offset) : "earliest"
  })

const printRecord = (record: Record<string, unknown>, json: boolean) =>
  Console.log(json ? JSON.stringify(record) : String(record.value ?? record.valueBase64 ?? ""))

/** Where a consume got to: the offset after the last record it printed (or skipped past), once it knows one. */
interface Progress {
  next: number | undefined
}

/** Reads and prints until the high watermark (or forever with `follow`), keeping `progress` up to date. */
const readPartition = (flags: Common, path: string, from: string, options: { readonly follow: boolean; readonly max: number | undefined; readonly json: boolean }, progress: Progress) =>
  Effect.gen(function*() {
    let offset = from
    let printed = 0
    for (;;) {
      const answer = (yield* logCall(flags, { method: "GET", path: `${path}?offset=${offset}` })) as unknown as Fetched
      for (const record of answer.records) {
        if (options.max !== undefined && printed >= options.max) return
        yield* printRecord(record, options.json)
        printed++
        progress.next = Number(record.offset) + 1
      }
      // Past the records read (and any batch this build cannot decode): where the next read starts.
      if (answer.records.length === 0 || options.max === undefined || printed < options.max) progress.next = answer.nextOffset
      offset = String(answer.nextOffset)
      if (answer.nextOffset >= answer.highWatermark) {
        if (!options.follow) return
        yield* Effect.sleep(POLL_MS)
      }
    }
  })

/** Stores the group's offset where the consume got to. */
const commitProgress = (flags: Common, group: string, topic: string, partition: number, progress: Progress) =>
  Effect.gen(function*() {
    if (progress.next === undefined) return
    yield* logCall(flags, { method: "PUT", path: groupPath(group, topic, partition), body: { offset: progress.next } })
    yield* Console.error(`committed offset ${progress.next} for group ${group} on ${topic}/${partition}`)
  })

export const consume = Command.make(
  "consume",
  {
    ...common,
    topic: topicFlag,
    partition: partitionFlag,
    fromBeginning: Flag.Boolean("from-beginning").pipe(Flag.withDefault(false), Flag.withDescription("start at the partition's first offset")),
    offset: Flag.String("offset").pipe(Flag.optional, Flag.withDescription("start at this offset")),
    group: Flag.String("group").pipe(Flag.optional, Flag.withDescription("a consumer group: start at its committed offset (unless told otherwise) and commit where this stops")),
    follow: Flag.Boolean("follow").pipe(Flag.withDefault(false), Flag.withDescription("keep waiting for new records (Ctrl-C to stop)")),
    maxRecords: Flag.String("max-records").pipe(Flag.optional, Flag.withDescription("stop after this many records")),
    json: Flag.Boolean("json").pipe(Flag.withDefault(false), Flag.withDescription("print each record as JSON (offset, timestamp, key, value) instead of its value"))
  },
  (flags) =>
    Effect.gen(function*() {
      const topic = yield* checkTopic(flags.topic)
      const partition = yield* wholeNumber("partition", flags.partition)
      const group = Option.getOrUndefined(flags.group)
      const from = yield* startOffset(flags, { fromBeginning: flags.fromBeginning, offset: yield* optional("offset", flags.offset), group }, topic, partition)
      const max = yield* optional("max-records", flags.maxRecords, 1)
      const progress: Progress = { next: undefined }
      const read = readPartition(flags, `${topicPath(topic)}/partitions/${partition}/records`, from, { follow: flags.follow, max, json: flags.json }, progress)
      if (group === undefined) return yield* read
      // Ctrl-C ends a --follow: the group's offset is still stored (a failure to store it is said, not thrown).
      yield* Effect.onInterrupt(read, () =>
        Effect.catch(commitProgress(flags, group, topic, partition, progress), (e) => Console.error(`cairn log: the offset was not committed: ${e.message}`)))
      yield* commitProgress(flags, group, topic, partition, progress)
    })
).pipe(Command.withDescription("print a partition's records, one value per line (--json: with offsets and keys)"))

const target = { ...common, group: groupFlag, topic: topicFlag, partition: partitionFlag }

const checked = (flags: Common & { readonly group: string; readonly topic: string; readonly partition: string }): Effect.Effect<string, LogCommandError> =>
  Effect.gen(function*() {
    if (flags.group === "" || flags.group.length > 255) return yield* usage("--group: a group name is 1-255 characters")
    return groupPath(flags.group, yield* checkTopic(flags.topic), yield* wholeNumber("partition", flags.partition))
  })

const commit = Command.make(
  "commit",
  { ...target, offset: Flag.String("offset").pipe(Flag.withDescription("the offset to store: the next one the group will read")), metadata: Flag.String("metadata").pipe(Flag.withDefault(""), Flag.withDescription("a note stored with it")) },
  (flags) =>
    Effect.gen(function*() {
      const path = yield* checked(flags)
      const offset = yield* wholeNumber("offset", flags.offset)
      yield* printJson(yield* logCall(flags, { method: "PUT", path, body: { offset, metadata: flags.metadata } }))
    })
).pipe(Command.withDescription("store a consumer group's offset for a partition"))

const fetchOffset = Command.make("fetch", target, (flags) => Effect.flatMap(checked(flags), (path) => Effect.flatMap(logCall(flags, { method: "GET", path }), printJson))).pipe(
  Command.withDescription("read a consumer group's committed offset for a partition (offset null: never committed)")
)

export const offsetsCommand = Command.make("offsets").pipe(Command.withDescription("consumer group offsets"), Command.withSubcommands([commit, fetchOffset]))

/**
 * The streaming log over the KV API (`/v1/log`), for users before the Kafka
 * protocol exists (`cairn log`, docs/log.md "The HTTP API"): topics
 * (create, grow, change retention and delete need the admin's key), produce (to a partition
 * or by key) and fetch per partition, consumer group offsets, and the
 * consumer groups with their lag (`log-groups.ts`). Each call goes through the node's own
 * log client, which finds the partition's replicas and leader over the
 * node's transport, so any node answers for every partition.
 *
 * The client's outcomes become the API's: a refusal its 4xx (nothing was
 * appended), `LogUnavailableError` a 503 (nothing was appended), and
 * `LogAmbiguousError` a 504 `outcome-unknown` (it may have been appended).
 */
import { Effect } from "effect"
import { Clock } from "../clock/clock.ts"
import { assert } from "../invariant/invariant.ts"
import { MAX_RANGE_LIMIT } from "../kv/command.ts"
import type { LogClient, LogClientError } from "../log/client/log-client.ts"
import { partitionForKey } from "../log/topics/key-partitioner.ts"
import { type CreateTopic, TOPIC_RANGE } from "../log/topics/topic-admin.ts"
import { decodeTopicMeta, TOPIC_NAME, type TopicMeta } from "../log/topics/topic-meta.ts"
import type { Digest } from "../s3/digest.ts"
import { requireAdmin } from "./admin-operations.ts"
import { checkSignedBody, parseJson, readBody } from "./body.ts"
import type { RequestContext } from "./context.ts"
import {
  ConflictError,
  InvalidRequestError,
  type KvApiError,
  MethodNotAllowedError,
  NotFoundError,
  NotImplementedError,
  OffsetOutOfRangeError,
  OutcomeUnknownError,
  TooLargeError,
  UnavailableError
} from "./errors.ts"
import { read } from "./kv-calls.ts"
import { deleteGroup, groupViews } from "./log-groups.ts"
import { batchFromJson, recordsFromBatches, type RecordEncoding, sharedKey } from "./log-records.ts"
import type { GroupsView } from "./log-views.ts"
import type { BodyReadError } from "./request.ts"
import { jsonResponse, type KvApiResponseHead } from "./response.ts"

type Served = Effect.Effect<KvApiResponseHead, KvApiError | BodyReadError, Digest | Clock>

/** A raw Kafka RecordBatch v2 as a produce body (what the benchmark and other producers that batch send). */
export const RECORD_BATCH_CONTENT_TYPE = "application/vnd.kafka.record-batch.v2"
/** Produce bodies: a batch is at most 1 MiB by default; JSON with base64 takes a third more. */
const PRODUCE_BODY_LIMIT = 4 * 1024 * 1024
const SMALL_BODY_LIMIT = 64 * 1024
/** The largest fetch answer a request may ask for (the node caps it again at its own limit). */
const DEFAULT_FETCH_BYTES = 1024 * 1024

/** The client's outcome as the API's error. */
const logError = (e: LogClientError): KvApiError => {
  switch (e._tag) {
    case "LogUnavailableError": return new UnavailableError({ message: `the log could not serve it in time (nothing was appended): ${e.message}` })
    case "LogAmbiguousError": return new OutcomeUnknownError({ message: `no answer in time: it may or may not have been appended (${e.message}); an idempotent producer's retry is safe` })
    case "LogRequestError":
      switch (e.code) {
        case "unknown-topic":
        case "unknown-partition": return new NotFoundError({ code: e.code, message: e.message })
        case "topic-exists": return new ConflictError({ code: e.code, message: e.message })
        case "too-large": return new TooLargeError({ code: e.code, message: e.message, closeConnection: false })
        case "offset-out-of-range":
          return new OffsetOutOfRangeError({ message: e.message, logStartOffset: e.bounds?.logStartOffset ?? 0, highWatermark: e.bounds?.highWatermark ?? 0 })
        case "not-leader":
        case "not-replica":
        case "corrupt":
        case "timeout":
        case "unavailable": return new UnavailableError({ message: `${e.code}: ${e.message}` })
        case "invalid-request":
        case "invalid-batch":
        case "fenced":
        case "out-of-order": return new InvalidRequestError({ code: e.code, message: e.message })
      }
  }
}

/**
 * Topics each node's client has seen described, with their partition counts. A produce or fetch for a
 * topic or partition the client has not seen is checked first, so a typo is answered 404 at once (the
 * client itself retries those codes until its deadline: a node's view trails a topic just created).
 */
const described = new WeakMap<LogClient, Map<string, number>>()

const checkPartition = (log: LogClient, topic: string, partition: number): Effect.Effect<void, KvApiError> =>
  Effect.gen(function*() {
    let known = described.get(log)
    if (known === undefined) described.set(log, known = new Map())
    if ((known.get(topic) ?? 0) > partition) return
    const meta = yield* call(log.describeTopic(topic))
    known.set(topic, meta.replicas.length)
    if (partition >= meta.replicas.length) return yield* new NotFoundError({ code: "unknown-partition", message: `${topic} has ${meta.replicas.length} partitions (0..${meta.replicas.length - 1})` })
  })

/** Forgets what `checkPartition` learnt of a topic once the log says it is gone. */
const forgetIfGone = (log: LogClient, topic: string) => (e: KvApiError) =>
  Effect.sync(() => {
    if (e._tag === "NotFoundError") described.get(log)?.delete(topic)
  })

const call = <A>(effect: Effect.Effect<A, LogClientError>): Effect.Effect<A, KvApiError> => Effect.mapError(effect, logError)

const valid = <A>(parsed: A | InvalidRequestError): Effect.Effect<A, InvalidRequestError> =>
  parsed instanceof InvalidRequestError ? Effect.fail(parsed) : Effect.succeed(parsed)

const jsonBody = (ctx: RequestContext, limit: number, expected: string) =>
  Effect.gen(function*() {
    const body = yield* readBody(ctx.request, limit, () => new TooLargeError({ code: "too-large", message: `the request body is over ${limit} bytes`, closeConnection: true }))
    yield* checkSignedBody(ctx.principal, body)
    ctx.tally.bytesIn += body.length
    const parsed = parseJson(body)
    if (parsed === undefined || typeof parsed !== "object" || parsed === null) return yield* new InvalidRequestError({ code: "bad-json", message: `expected a JSON body ${expected}` })
    return parsed as Record<string, unknown>
  })

/** A whole number param or field: `what` names it in the message. */
const wholeNumber = (value: unknown, what: string, min = 0): number | InvalidRequestError => {
  const n = typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : value
  if (typeof n === "number" && Number.isSafeInteger(n) && n >= min) return n
  return new InvalidRequestError({ code: "bad-number", message: `${what} must be a whole number${min > 0 ? ` of at least ${min}` : ""}, got ${JSON.stringify(value)}` })
}

const encodingOf = (url: URL): RecordEncoding | InvalidRequestError => {
  const encoding = url.searchParams.get("encoding") ?? "utf8"
  return encoding === "utf8" || encoding === "base64" ? encoding : new InvalidRequestError({ code: "bad-encoding", message: `encoding must be utf8 or base64, got "${encoding}"` })
}

/** A path segment, percent-decoded. */
const segment = (encoded: string): string | InvalidRequestError => {
  try {
    return decodeURIComponent(encoded)
  } catch {
    return new InvalidRequestError({ code: "bad-path", message: `${JSON.stringify(encoded)} is not valid percent-encoding` })
  }
}

const topicName = (encoded: string): string | InvalidRequestError => {
  const name = segment(encoded)
  if (typeof name !== "string") return name
  return TOPIC_NAME.test(name) ? name : new InvalidRequestError({ code: "bad-topic", message: `topic names are 1-249 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(name)}` })
}

const topicJson = (meta: TopicMeta) => ({ ...meta, partitions: meta.replicas.length })

/** Every topic, read linearizably from the KV (a topic whose create returned is listed). */
const listTopics = (ctx: RequestContext): Served =>
  Effect.gen(function*() {
    const topics: Array<ReturnType<typeof topicJson>> = []
    let start: string = TOPIC_RANGE.start
    for (;;) {
      const page = yield* read(ctx, { op: "range", start, end: TOPIC_RANGE.end, limit: MAX_RANGE_LIMIT }, "linearizable")
      assert(page.type === "range", () => `a range answered ${page.type}`)
      for (const item of page.items) {
        const meta = decodeTopicMeta(item.value)
        if (typeof meta !== "string") topics.push(topicJson(meta))
      }
      if (!page.more || page.items.length === 0) return jsonResponse(200, { topics })
      start = `${page.items[page.items.length - 1]!.key}\u0000`
    }
  })

const createTopic = (ctx: RequestContext, log: LogClient): Served =>
  Effect.gen(function*() {
    yield* requireAdmin(ctx)
    const body = yield* jsonBody(ctx, SMALL_BODY_LIMIT, '{"name": "orders", "partitions": 6, "replicationFactor"?: 3, "retentionMs"?, "retentionBytes"?, "maxMessageBytes"?, "segmentBytes"?}')
    if (typeof body.name !== "string") return yield* new InvalidRequestError({ code: "bad-topic", message: 'the body needs "name": the topic name' })
    const name = yield* valid(topicName(encodeURIComponent(body.name)))
    const partitions = yield* valid(wholeNumber(body.partitions, "partitions", 1))
    const create: { -readonly [K in keyof CreateTopic]: CreateTopic[K] } = { name, partitions }
    for (const key of ["replicationFactor", "retentionMs", "retentionBytes", "maxMessageBytes", "segmentBytes"] as const) {
      if (body[key] !== undefined && body[key] !== null) create[key] = yield* valid(wholeNumber(body[key], key, key === "replicationFactor" ? 1 : 0))
    }
    return jsonResponse(201, topicJson(yield* call(log.createTopic(create))))
  })

const topicOperation = (ctx: RequestContext, log: LogClient, topic: string, rest: ReadonlyArray<string>): Served =>
  Effect.gen(function*() {
    const method = ctx.request.method
    if (rest.length === 0) {
      if (method === "GET") return jsonResponse(200, topicJson(yield* call(log.describeTopic(topic))))
      if (method === "DELETE") {
        yield* requireAdmin(ctx)
        yield* call(log.deleteTopic(topic))
        described.get(log)?.delete(topic)
        return jsonResponse(200, { deleted: topic })
      }
      if (method === "PATCH") return yield* alterTopic(ctx, log, topic)
      return yield* new MethodNotAllowedError({ message: "a topic takes GET (describe), PATCH (change its retention) and DELETE", allow: "GET, PATCH, DELETE" })
    }
    if (rest[0] === "records" && rest.length === 1) {
      if (method !== "POST") return yield* new MethodNotAllowedError({ message: "POST produces records by key (Kafka's partitioner picks the partition)", allow: "POST" })
      return yield* produceByKey(ctx, log, topic)
    }
    if (rest[0] !== "partitions") return yield* notFound(ctx)
    if (rest.length === 1) {
      if (method !== "POST") return yield* new MethodNotAllowedError({ message: "POST grows the topic to {\"partitions\": N}", allow: "POST" })
      yield* requireAdmin(ctx)
      const body = yield* jsonBody(ctx, SMALL_BODY_LIMIT, '{"partitions": N}')
      return jsonResponse(200, topicJson(yield* call(log.growTopic(topic, yield* valid(wholeNumber(body.partitions, "partitions", 1))))))
    }
    const partition = yield* valid(wholeNumber(rest[1], "the partition"))
    if (rest.length !== 3 || rest[2] !== "records") return yield* notFound(ctx)
    if (method === "POST") return yield* produce(ctx, log, topic, partition)
    if (method === "GET") return yield* fetchRecords(ctx, log, topic, partition)
    return yield* new MethodNotAllowedError({ message: "records take POST (produce) and GET (fetch)", allow: "GET, POST" })
  })

/** Settings fixed for a topic's life, and why: each replica's log is opened with them. */
const FIXED_SETTINGS: Record<string, string> = {
  replicationFactor: "the replicas per partition are placed when a partition is created",
  maxMessageBytes: "the largest batch is fixed when the topic is created (each replica's log is opened with it)",
  segmentBytes: "the segment size is fixed when the topic is created (each replica's log is opened with it)",
  partitions: 'partitions grow with POST /v1/log/topics/{topic}/partitions {"partitions": N}'
}

/** `PATCH /v1/log/topics/{topic}` `{"retentionMs"?: N|null, "retentionBytes"?: N|null}` (null: no limit); the admin's key. */
const alterTopic = (ctx: RequestContext, log: LogClient, topic: string): Served =>
  Effect.gen(function*() {
    yield* requireAdmin(ctx)
    const body = yield* jsonBody(ctx, SMALL_BODY_LIMIT, '{"retentionMs"?: N or null, "retentionBytes"?: N or null}')
    const changes: { retentionMs?: number | null; retentionBytes?: number | null } = {}
    for (const [key, value] of Object.entries(body)) {
      if (key !== "retentionMs" && key !== "retentionBytes") {
        const why = FIXED_SETTINGS[key]
        return yield* new InvalidRequestError({ code: "fixed-setting", message: why === undefined ? `${key} is not a topic setting; a topic's retentionMs and retentionBytes change` : `${key} cannot change: ${why}` })
      }
      changes[key] = value === null ? null : yield* valid(wholeNumber(value, `${key} (or null for no limit)`))
    }
    if (Object.keys(changes).length === 0) return yield* new InvalidRequestError({ code: "nothing-to-change", message: 'give "retentionMs" and/or "retentionBytes": a whole number, or null for no limit' })
    return jsonResponse(200, topicJson(yield* call(log.alterTopic(topic, changes))))
  })

const produce = (ctx: RequestContext, log: LogClient, topic: string, partition: number): Served =>
  Effect.gen(function*() {
    const raw = (ctx.request.headers.get("content-type") ?? "").startsWith(RECORD_BATCH_CONTENT_TYPE)
    let batch: Uint8Array
    if (raw) {
      batch = yield* readBody(ctx.request, PRODUCE_BODY_LIMIT, () => new TooLargeError({ code: "too-large", message: `a batch is over ${PRODUCE_BODY_LIMIT} bytes`, closeConnection: true }))
      yield* checkSignedBody(ctx.principal, batch)
      ctx.tally.bytesIn += batch.length
    } else {
      const built = batchFromJson(yield* jsonBody(ctx, PRODUCE_BODY_LIMIT, '{"records": [{"key": "k", "value": "v"}]}'), yield* (yield* Clock).wallMs)
      if (typeof built === "string") return yield* new InvalidRequestError({ code: "bad-records", message: built })
      batch = built
    }
    return yield* append(log, topic, partition, batch)
  })

const append = (log: LogClient, topic: string, partition: number, batch: Uint8Array): Served =>
  Effect.gen(function*() {
    yield* checkPartition(log, topic, partition)
    const produced = yield* call(log.produce(topic, partition, batch)).pipe(Effect.tapError(forgetIfGone(log, topic)))
    return jsonResponse(200, { topic, partition, ...produced })
  })

/** `POST /v1/log/topics/{topic}/records`: JSON records that share a key, to the partition a Kafka client would pick for it. */
const produceByKey = (ctx: RequestContext, log: LogClient, topic: string): Served =>
  Effect.gen(function*() {
    const body = yield* jsonBody(ctx, PRODUCE_BODY_LIMIT, '{"records": [{"key": "k", "value": "v", "headers"?: [{"key", "value"}]}]}')
    const batch = batchFromJson(body, yield* (yield* Clock).wallMs)
    if (typeof batch === "string") return yield* new InvalidRequestError({ code: "bad-records", message: batch })
    const key = sharedKey(body)
    if (typeof key === "string") return yield* new InvalidRequestError({ code: "bad-key", message: key })
    const meta = yield* call(log.describeTopic(topic))
    return yield* append(log, topic, partitionForKey(key, meta.replicas.length), batch)
  })

/** `?offset=N|earliest&maxBytes=&encoding=`: records from `offset` (earliest: the partition's log start). */
const fetchRecords = (ctx: RequestContext, log: LogClient, topic: string, partition: number): Served =>
  Effect.gen(function*() {
    const encoding = yield* valid(encodingOf(ctx.url))
    const offsetText = ctx.url.searchParams.get("offset") ?? "earliest"
    const maxBytes = yield* valid(wholeNumber(ctx.url.searchParams.get("maxBytes") ?? String(DEFAULT_FETCH_BYTES), "maxBytes", 1))
    let offset = offsetText === "earliest" ? 0 : yield* valid(wholeNumber(offsetText, "offset"))
    yield* checkPartition(log, topic, partition)
    // Named apart: core's purity check reads any `fetch(` call as the global fetch.
    const { fetch: fetchBatches } = log
    let fetched = yield* Effect.result(fetchBatches(topic, partition, offset, maxBytes))
    // Retention may have removed offset 0: earliest is wherever the partition starts now.
    const refused = fetched._tag === "Failure" && fetched.failure._tag === "LogRequestError" ? fetched.failure : undefined
    if (offsetText === "earliest" && refused?.code === "offset-out-of-range" && refused.bounds !== undefined) {
      offset = refused.bounds.logStartOffset
      fetched = yield* Effect.result(fetchBatches(topic, partition, offset, maxBytes))
    }
    if (fetched._tag === "Failure") return yield* Effect.tapError(Effect.fail(logError(fetched.failure)), forgetIfGone(log, topic))
    const { batches, highWatermark, logStartOffset } = fetched.success
    const records = recordsFromBatches(batches, offset, encoding)
    return jsonResponse(200, { topic, partition, ...records, highWatermark, logStartOffset })
  })

const groupName = (encoded: string): string | InvalidRequestError => {
  const group = segment(encoded)
  if (typeof group !== "string") return group
  return group === "" || group.length > 255 ? new InvalidRequestError({ code: "bad-group", message: "a group name is 1-255 characters" }) : group
}

/**
 * `GET /v1/log/groups[?topic=T]`: every consumer group (those reading T) with its members, offsets and lag;
 * `GET /v1/log/groups/{group}`: one (404 when it has neither a stored record nor an offset);
 * `DELETE /v1/log/groups/{group}`: an Empty group and its offsets (the admin's key).
 */
const groupsRead = (ctx: RequestContext, log: LogClient, parts: ReadonlyArray<string>): Served =>
  Effect.gen(function*() {
    const method = ctx.request.method
    if (parts.length === 2 && method === "DELETE") {
      yield* requireAdmin(ctx)
      const group = yield* valid(groupName(parts[1]!))
      return jsonResponse(200, { deleted: group, offsets: yield* deleteGroup(ctx, group) })
    }
    if (method !== "GET") {
      return yield* new MethodNotAllowedError({ message: parts.length === 1 ? "consumer groups are read with GET" : "a group takes GET and DELETE (an Empty group, the admin's key)", allow: parts.length === 1 ? "GET" : "GET, DELETE" })
    }
    if (parts.length === 1) {
      const asked = ctx.url.searchParams.get("topic")
      const topic = asked === null ? undefined : yield* valid(TOPIC_NAME.test(asked) ? asked : new InvalidRequestError({ code: "bad-topic", message: `topic names are 1-249 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(asked)}` }))
      return jsonResponse(200, { groups: yield* groupViews(ctx, log, undefined, topic) } satisfies GroupsView)
    }
    const group = yield* valid(groupName(parts[1]!))
    const [view] = yield* groupViews(ctx, log, group, undefined)
    if (view === undefined) return yield* new NotFoundError({ code: "unknown-group", message: `no consumer group ${JSON.stringify(group)}: it has no stored members and no committed offsets` })
    return jsonResponse(200, view)
  })

/** `/v1/log/groups/{group}/offsets/{topic}/{partition}`: GET the committed offset, PUT `{"offset", "metadata"?}`. */
const groupOffset = (ctx: RequestContext, log: LogClient, parts: ReadonlyArray<string>): Served =>
  Effect.gen(function*() {
    if (parts.length !== 5 || parts[2] !== "offsets") return yield* notFound(ctx)
    const group = yield* valid(groupName(parts[1]!))
    const topic = yield* valid(topicName(parts[3]!))
    const partition = yield* valid(wholeNumber(parts[4], "the partition"))
    if (ctx.request.method === "GET") {
      const stored = yield* call(log.fetchOffset(group, topic, partition))
      return jsonResponse(200, { group, topic, partition, offset: stored.offset ?? null, metadata: stored.metadata })
    }
    if (ctx.request.method !== "PUT") return yield* new MethodNotAllowedError({ message: "a group offset takes GET and PUT", allow: "GET, PUT" })
    const body = yield* jsonBody(ctx, SMALL_BODY_LIMIT, '{"offset": N, "metadata"?: "..."}')
    const offset = yield* valid(wholeNumber(body.offset, "offset"))
    if (body.metadata !== undefined && typeof body.metadata !== "string") return yield* new InvalidRequestError({ code: "bad-metadata", message: "metadata must be a string" })
    yield* call(log.commitOffset(group, topic, partition, offset, body.metadata ?? ""))
    return jsonResponse(200, { group, topic, partition, offset, metadata: body.metadata ?? "" })
  })

/**
 * `POST /v1/log/producers` `{"name"?}`: a producer id and epoch for raw batches that carry them (Kafka's
 * idempotence rules then answer a retried batch with its first offsets); a name gets its id with the
 * next epoch, fencing the name's previous holder.
 */
const initProducer = (ctx: RequestContext, log: LogClient): Served =>
  Effect.gen(function*() {
    if (ctx.request.method !== "POST") return yield* new MethodNotAllowedError({ message: "POST takes a producer id", allow: "POST" })
    const body = yield* jsonBody(ctx, SMALL_BODY_LIMIT, '{"name"?: "orders-writer"}')
    if (body.name !== undefined && typeof body.name !== "string") return yield* new InvalidRequestError({ code: "bad-producer", message: "name must be a string" })
    return jsonResponse(200, yield* call(log.initProducer(body.name ?? "")))
  })

const notFound = (ctx: RequestContext) => new NotFoundError({ code: "no-route", message: `no route ${ctx.url.pathname}: see docs/log.md` })

/** `/v1/log` with `rest` the path after it. */
export const logOperation = (ctx: RequestContext, rest: string): Served =>
  Effect.gen(function*() {
    const log = ctx.config.log
    if (log === undefined) return yield* new NotImplementedError({ code: "log-disabled", message: "this node runs without the streaming log (started with --no-log)" })
    const parts = rest.split("/").filter((p) => p !== "")
    if (parts[0] === "topics") {
      if (parts.length === 1) {
        if (ctx.request.method === "GET") return yield* listTopics(ctx)
        if (ctx.request.method === "POST") return yield* createTopic(ctx, log)
        return yield* new MethodNotAllowedError({ message: "topics take GET (list) and POST (create)", allow: "GET, POST" })
      }
      return yield* topicOperation(ctx, log, yield* valid(topicName(parts[1]!)), parts.slice(2))
    }
    if (parts[0] === "groups" && parts.length <= 2) return yield* groupsRead(ctx, log, parts)
    if (parts[0] === "groups") return yield* groupOffset(ctx, log, parts)
    if (parts[0] === "producers" && parts.length === 1) return yield* initProducer(ctx, log)
    return yield* notFound(ctx)
  })

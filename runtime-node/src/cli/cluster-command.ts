/**
 * `cairn cluster add|remove|drain|promote|list`: membership of a running cluster through
 * the admin endpoint (`/v1/admin/members`, HTTP Basic with the admin access
 * key and secret key). A follower answers 503 with the leader's API address;
 * the command follows it (keeping the endpoint's http or https), and retries
 * while another change is in progress. An https endpoint is verified against
 * the default CAs plus `--ca FILE` (or NODE_EXTRA_CA_CERTS).
 */
import { Console, Data, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { existsSync } from "node:fs"
import { apiAuthorization, trustCaFile } from "../server/api-credentials.ts"
import { readCredentials } from "../server/secrets.ts"
import { formatMemberTable, formatRebalance, type MemberEntry, memberRows, type RebalanceEntry } from "./cluster-health.ts"
import { probeStatus } from "./member-probe.ts"

export class ClusterCommandError extends Data.TaggedError("ClusterCommandError")<{ readonly message: string }> {}

export const common = {
  endpoint: Flag.String("endpoint").pipe(Flag.withDefault("http://127.0.0.1:9100"), Flag.withDescription("API address of any member")),
  accessKey: Flag.String("access-key").pipe(Flag.optional, Flag.withDescription("admin access key (default CAIRN_ACCESS_KEY, else the credentials file)")),
  secretKey: Flag.String("secret-key").pipe(Flag.optional, Flag.withDescription("admin secret key (default CAIRN_SECRET_KEY, else the credentials file)")),
  credentials: Flag.String("credentials").pipe(Flag.optional, Flag.withDescription("admin-credentials.json to read (default ./data/dev/ or ./data/)")),
  ca: Flag.String("ca").pipe(Flag.optional, Flag.withDescription("PEM CA certificate to trust for an https --endpoint (also: NODE_EXTRA_CA_CERTS)"))
}

export type Common = {
  readonly endpoint: string
  readonly accessKey: Option.Option<string>
  readonly secretKey: Option.Option<string>
  readonly credentials: Option.Option<string>
  readonly ca: Option.Option<string>
}

export const authHeader = (flags: Common): string | ClusterCommandError => {
  const key = Option.getOrUndefined(flags.accessKey) ?? process.env.CAIRN_ACCESS_KEY
  const secret = Option.getOrUndefined(flags.secretKey) ?? process.env.CAIRN_SECRET_KEY
  let pair = key !== undefined && secret !== undefined ? { accessKey: key, secretKey: secret } : undefined
  if (pair === undefined) {
    const files = [Option.getOrUndefined(flags.credentials), "./data/dev/admin-credentials.json", "./data/admin-credentials.json"].filter((f): f is string => f !== undefined)
    const file = files.find((f) => existsSync(f))
    if (file !== undefined) pair = readCredentials(file)
  }
  if (pair === undefined) return new ClusterCommandError({ message: "no admin credentials: pass --access-key and --secret-key, set CAIRN_ACCESS_KEY and CAIRN_SECRET_KEY, or --credentials FILE" })
  return apiAuthorization(pair)
}

/** fetch's "fetch failed" hides the reason (a refused connection, an untrusted certificate): show it. */
export const causeMessage = (e: unknown): string => {
  const error = e as Error & { cause?: unknown }
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message
}

/** A request body as sent. */
export interface RequestBody {
  readonly bytes: Uint8Array | string
  readonly contentType: string
}

/** The body and headers of a successful answer. */
export interface Answer {
  readonly bytes: Uint8Array
  readonly headers: Headers
}

/** An error answer's code and message (`{"error", "message"}`), or its text. */
const refusalOf = (bytes: Uint8Array): { readonly code: string | undefined; readonly message: string } => {
  const text = new TextDecoder().decode(bytes)
  try {
    const json = JSON.parse(text) as Record<string, unknown>
    return { code: typeof json.error === "string" ? json.error : undefined, message: String(json.message ?? text) }
  } catch {
    return { code: undefined, message: text }
  }
}

/** Sends the request, following leader hints and retrying "busy" for a few seconds. */
export const send = (flags: Common, method: string, path: string, body?: RequestBody): Effect.Effect<Answer, ClusterCommandError> =>
  Effect.tryPromise({
    try: async () => {
      const auth = authHeader(flags)
      if (auth instanceof ClusterCommandError) throw auth
      const ca = Option.getOrUndefined(flags.ca)
      if (ca !== undefined) {
        try {
          trustCaFile(ca)
        } catch (e) {
          throw new ClusterCommandError({ message: `--ca ${ca}: ${(e as Error).message}` })
        }
      }
      let endpoint = flags.endpoint.replace(/\/$/, "")
      if (!/^https?:\/\//.test(endpoint)) endpoint = `http://${endpoint}`
      const scheme = endpoint.startsWith("https://") ? "https" : "http"
      for (let attempt = 0; attempt < 20; attempt++) {
        const res = await fetch(`${endpoint}${path}`, {
          method,
          headers: { authorization: auth, "content-type": body?.contentType ?? "application/json" },
          ...(body === undefined ? {} : { body: body.bytes })
        })
        const bytes = new Uint8Array(await res.arrayBuffer())
        if (res.ok) return { bytes, headers: res.headers }
        const leaderApi = res.headers.get("x-cairn-leader-api")
        const refusal = refusalOf(bytes)
        if (res.status === 503 && leaderApi !== null) endpoint = `${scheme}://${leaderApi}`
        // 503 without a hint (no leader yet) and 409 "busy" (another membership change) pass; other refusals are final.
        else if (res.status !== 503 && !(res.status === 409 && (refusal.code === "busy" || refusal.message.startsWith("busy")))) throw new ClusterCommandError({ message: `${res.status}: ${refusal.message}` })
        await new Promise((r) => setTimeout(r, 500))
      }
      throw new ClusterCommandError({ message: "gave up: no leader accepted the change (is a majority of the cluster up?)" })
    },
    catch: (e) => e instanceof ClusterCommandError ? e : new ClusterCommandError({ message: `cannot reach ${flags.endpoint}: ${causeMessage(e)}` })
  })

/** `send` with a JSON body and a JSON answer (an answer that is not JSON reads as `{}`). */
export const call = (flags: Common, method: string, path: string, body?: unknown) =>
  Effect.map(send(flags, method, path, body === undefined ? undefined : { bytes: JSON.stringify(body), contentType: "application/json" }), (answer) => {
    try {
      return JSON.parse(new TextDecoder().decode(answer.bytes)) as Record<string, unknown>
    } catch {
      return {}
    }
  })

const add = Command.make(
  "add",
  {
    ...common,
    id: Flag.String("id").pipe(Flag.withDescription("the new node's id")),
    peerAddress: Flag.String("peer-address").pipe(Flag.withDescription("host:port the new node listens on for peers")),
    apiAddress: Flag.String("api-address").pipe(Flag.optional, Flag.withDescription("host:port of the new node's HTTP API (for leader hints)")),
    learner: Flag.Boolean("learner").pipe(Flag.withDefault(false), Flag.withDescription("add as a non-voting learner"))
  },
  (flags) =>
    Effect.gen(function*() {
      const api = Option.getOrUndefined(flags.apiAddress)
      const result = yield* call(flags, "POST", "/v1/admin/members", { id: flags.id, peerAddress: flags.peerAddress, ...(api === undefined ? {} : { apiAddress: api }), ...(flags.learner ? { learner: true } : {}) })
      yield* Console.log(JSON.stringify(result))
    })
).pipe(Command.withDescription("add a node to the running cluster (start it with `cairn server --join` and the cluster's --peers plus itself)"))

const remove = Command.make(
  "remove",
  { ...common, id: Flag.String("id").pipe(Flag.withDescription("the node to remove")) },
  (flags) => Effect.flatMap(call(flags, "DELETE", `/v1/admin/members/${encodeURIComponent(flags.id)}`), (r) => Console.log(JSON.stringify(r)))
).pipe(Command.withDescription("remove a node from the running cluster"))

const drain = Command.make(
  "drain",
  {
    ...common,
    id: Flag.String("id").pipe(Flag.withDescription("the node to drain")),
    undo: Flag.Boolean("undo").pipe(Flag.withDefault(false), Flag.withDescription("stop draining: the node takes new shards again"))
  },
  (flags) =>
    Effect.flatMap(
      call(flags, flags.undo ? "DELETE" : "POST", `/v1/admin/members/${encodeURIComponent(flags.id)}/drain`),
      (r) => Console.log(JSON.stringify(r))
    )
).pipe(Command.withDescription("stop placing shards on a node and let repair move its shards to the others, before `cluster remove` (--undo: take it back)"))

const promote = Command.make(
  "promote",
  { ...common, id: Flag.String("id").pipe(Flag.withDescription("the learner to make a voter")) },
  (flags) => Effect.flatMap(call(flags, "POST", `/v1/admin/members/${encodeURIComponent(flags.id)}/promote`), (r) => Console.log(JSON.stringify(r)))
).pipe(Command.withDescription("make a learner (added with `cluster add --learner`) a voter"))

const list = Command.make(
  "list",
  { ...common, json: Flag.Boolean("json").pipe(Flag.withDefault(false), Flag.withDescription("print the members as JSON instead of a table")) },
  (flags) =>
    Effect.gen(function*() {
      const listed = yield* call(flags, "GET", "/v1/admin/members")
      const members = (Array.isArray(listed.members) ? listed.members : []) as ReadonlyArray<MemberEntry>
      const auth = authHeader(flags)
      if (auth instanceof ClusterCommandError) return yield* auth
      const scheme = flags.endpoint.startsWith("https://") ? "https" : "http"
      const probes = yield* Effect.promise(async () =>
        new Map(await Promise.all(members.map(async (m) => [m.id, m.apiAddress === null ? { ok: false as const, error: "no API address known" } : await probeStatus(auth, `${scheme}://${m.apiAddress}/v1/status`)] as const)))
      )
      const rows = memberRows(members, probes)
      const rebalance = (listed.rebalance ?? null) as RebalanceEntry | null
      yield* Console.log(flags.json ? JSON.stringify({ members: rows, removed: listed.removed ?? [], rebalance }, null, 2) : `${formatMemberTable(rows)}\n${formatRebalance(rebalance)}`)
    })
).pipe(Command.withDescription("list the cluster's members with each one's Raft role, health, replication lag and capacity weight, and rebalancing's progress"))

export const clusterCommand = Command.make("cluster").pipe(
  Command.withDescription("change or show the membership of a running cluster"),
  Command.withSubcommands([add, remove, drain, promote, list])
)

/**
 * The KV API's routes: which operation a path names, and the low-cardinality
 * label a path is counted and traced under (`/v1/kv/{key}`, not the key).
 * `/health`, `/ready` and `/metrics` are the runtime's own (they report on
 * the process) and are only labelled here.
 */

export type Route =
  | { readonly kind: "key"; readonly encodedKey: string }
  | { readonly kind: "list" }
  | { readonly kind: "status" }
  | { readonly kind: "members"; readonly rest: string }
  | { readonly kind: "s3-users"; readonly rest: string }
  | { readonly kind: "log"; readonly rest: string }
  | { readonly kind: "none" }

const KEY = "/v1/kv/"
const MEMBERS = "/v1/admin/members"
const S3_USERS = "/v1/admin/s3/users"
const LOG = "/v1/log"

/** The route of a URL path (`URL.pathname`, still percent-encoded). */
export const routeOf = (path: string): Route => {
  if (path.startsWith(KEY)) return { kind: "key", encodedKey: path.slice(KEY.length) }
  if (path === "/v1/kv") return { kind: "list" }
  if (path === "/v1/status") return { kind: "status" }
  if (path === MEMBERS || path.startsWith(`${MEMBERS}/`)) return { kind: "members", rest: path.slice(MEMBERS.length) }
  if (path === S3_USERS || path.startsWith(`${S3_USERS}/`)) return { kind: "s3-users", rest: path.slice(S3_USERS.length) }
  if (path === LOG || path.startsWith(`${LOG}/`)) return { kind: "log", rest: path.slice(LOG.length) }
  return { kind: "none" }
}

const labelled = new Set(["/v1/kv", "/health", "/ready", "/metrics", "/v1/status"])

/** The route label of a path for metrics and span names; "other" for anything unrouted. */
export const routeLabel = (path: string): string =>
  path.startsWith(KEY)
    ? "/v1/kv/{key}"
    : path === LOG || path.startsWith(`${LOG}/`)
    ? logRouteLabel(path.slice(LOG.length))
    : path.startsWith("/v1/admin/s3/")
    ? S3_USERS
    : path.startsWith("/v1/admin/")
    ? MEMBERS
    : labelled.has(path)
    ? path
    : "other"

/** The log routes' labels: names and numbers left out (`/v1/log/topics/{topic}/partitions/{p}/records`). */
const logRouteLabel = (rest: string): string => {
  const parts = rest.split("/").filter((p) => p !== "")
  if (parts[0] === "topics" && parts[2] === "records") return "/v1/log/topics/{topic}/records"
  if (parts[0] === "topics") {
    const shape = ["topics", "{topic}", "partitions", "{p}", "records"]
    return `/v1/log/${shape.slice(0, Math.min(parts.length, shape.length)).join("/")}`
  }
  if (parts[0] === "groups" && parts.length <= 2) return parts.length === 1 ? "/v1/log/groups" : "/v1/log/groups/{group}"
  if (parts[0] === "groups") return "/v1/log/groups/{group}/offsets/{topic}/{p}"
  if (parts[0] === "producers") return "/v1/log/producers"
  return "/v1/log"
}

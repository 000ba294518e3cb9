/**
 * `GET /api/users`: every user with its access keys and the buckets it may
 * use, for the Users page. Cairn's access rule is fixed (core/src/s3/acl.ts):
 * a bucket belongs to the user who created it, and only that user and the
 * admin may use it, so a user's buckets are the buckets it owns, and the
 * admin's are all of them. The key list comes from the admin API with the
 * session's own key, so a key that is not the admin's gets the admin API's
 * refusal (403) and sees no bucket list; the buckets and their owners are
 * read from the object layer's catalog on this node.
 */
import { ADMIN_USER } from "@cairn/core/s3/users"
import type { ServerResponse } from "node:http"
import { apiAuthorization } from "../server/api-credentials.ts"
import type { UserBuckets, UsersView } from "./contract.ts"
import { json, refuse } from "./http-replies.ts"
import type { Session } from "./sessions.ts"
import { fetchJson, type Upstream } from "./upstream.ts"

/** A bucket as the catalog records it: its owner is the user (not the key) that created it. */
export interface OwnedBucket {
  readonly name: string
  readonly owner: string
  readonly createdMs: number
}

export interface UserBucketsOptions {
  readonly api: Upstream
  /** Every bucket with its owner (the object store's listing); fails when the catalog cannot be read. */
  readonly listBuckets: () => Promise<ReadonlyArray<OwnedBucket>>
}

interface KeyEntry {
  readonly accessKey: string
  readonly user: string
}

const keysOf = (body: unknown): ReadonlyArray<KeyEntry> => {
  const keys = (body as { readonly keys?: unknown }).keys
  if (!Array.isArray(keys)) return []
  return keys.flatMap((k: unknown) => {
    const e = k as Partial<Record<keyof KeyEntry, unknown>>
    return typeof e?.accessKey === "string" && typeof e.user === "string" ? [{ accessKey: e.accessKey, user: e.user }] : []
  })
}

/** Users by name: the admin first, then every user with a key or a bucket (a revoked user's buckets stay its own). */
export const usersWithBuckets = (keys: ReadonlyArray<KeyEntry>, buckets: ReadonlyArray<OwnedBucket>): ReadonlyArray<UserBuckets> => {
  const names = new Set([ADMIN_USER, ...keys.map((k) => k.user), ...buckets.map((b) => b.owner)])
  const ordered = [ADMIN_USER, ...[...names].filter((n) => n !== ADMIN_USER).sort()]
  return ordered.map((user) => ({
    user,
    accessKeys: keys.filter((k) => k.user === user).map((k) => k.accessKey),
    owns: buckets.filter((b) => b.owner === user).map((b) => ({ name: b.name, createdMs: b.createdMs })),
    allBuckets: user === ADMIN_USER
  }))
}

export const serveUsers = async (options: UserBucketsOptions, res: ServerResponse, session: Session): Promise<void> => {
  const listed = await fetchJson(options.api, "/v1/admin/s3/users", { authorization: apiAuthorization(session.credentials) })
  // A key that is not the admin's is refused by the admin API itself; its message is passed on.
  if (listed.status !== 200) return json(res, listed.status, listed.body)
  let buckets: ReadonlyArray<OwnedBucket>
  try {
    buckets = await options.listBuckets()
  } catch (e) {
    return refuse(res, 503, "unavailable", `the bucket catalog cannot be read now (${e instanceof Error ? e.message : String(e)}); try again in a moment`)
  }
  json(res, 200, { users: usersWithBuckets(keysOf(listed.body), [...buckets].sort((a, b) => a.name.localeCompare(b.name))) } satisfies UsersView)
}

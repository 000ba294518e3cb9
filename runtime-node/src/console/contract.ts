/**
 * The console's own JSON routes, as the browser code (console/src/) and the
 * console listener both see them: types only, no runtime imports, so the
 * browser bundle can import this file as it is. Everything else the console
 * shows comes from the S3 API (`/api/s3/…`) and the admin API
 * (`/api/admin/…`), forwarded with the signed-in user's own credentials.
 */
import type { MemberRow } from "../cli/cluster-health.ts"

export type { MemberRow }

/** Where the console's routes live; every other path is a static asset. */
export const API_PREFIX = "/api/"
/** The header the browser must send on every request that changes something. */
export const CSRF_HEADER = "x-cairn-csrf"

/** `POST /api/session`: sign in. */
export interface SignInRequest {
  readonly accessKey: string
  readonly secretKey: string
}

/** `GET /api/session` and the answer to a sign-in. */
export interface SessionInfo {
  readonly user: string
  readonly accessKey: string
  readonly admin: boolean
  /** Send it back in the CSRF header on every POST, PUT and DELETE. */
  readonly csrfToken: string
  /** When the session ends at the latest (ms since the epoch). */
  readonly expiresMs: number
  readonly node: string
}

/** Every refusal of the console's own routes. */
export interface ConsoleError {
  readonly error: "unauthorized" | "session-expired" | "csrf" | "bad-request" | "forbidden" | "unavailable" | "not-found" | "upstream"
  readonly message: string
}

/** `GET /api/cluster`: every member with its Raft role, health and lag (as `cairn cluster list --json`). */
export interface ClusterView {
  readonly node: string
  readonly members: ReadonlyArray<MemberRow>
}

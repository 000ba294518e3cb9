/**
 * The console's sign-in sessions, held in this process's memory only: an
 * unguessable id (the cookie's value), the signed-in key pair (the console
 * forwards each browser request signed with it, so the S3 and admin APIs
 * decide what the user may do), a CSRF token bound to the session, and two
 * deadlines — idle (renewed on each use) and absolute. A restart of the
 * node signs everyone out; sessions are not shared between nodes.
 *
 * The store is bounded: past `maxSessions` the session closest to its idle
 * deadline is dropped, so a flood of sign-ins costs memory no larger than
 * the bound.
 */
import { randomBytes, timingSafeEqual } from "node:crypto"

export interface SessionCredentials {
  readonly accessKey: string
  readonly secretKey: string
  readonly user: string
  readonly admin: boolean
}

export interface Session {
  readonly id: string
  readonly csrfToken: string
  readonly credentials: SessionCredentials
  readonly createdMs: number
  /** Renewed on every request that uses the session. */
  idleDeadlineMs: number
}

export interface SessionLimits {
  /** A session unused this long ends (default 30 minutes). */
  readonly idleMs: number
  /** A session ends this long after sign-in however busy it is (default 12 hours). */
  readonly absoluteMs: number
  readonly maxSessions: number
}

export const defaultSessionLimits: SessionLimits = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000, maxSessions: 10_000 }

/** Why a session id does not lead to a session: the browser is told which, so it can say "signed out" or "expired". */
export type SessionLookup = { readonly ok: true; readonly session: Session } | { readonly ok: false; readonly reason: "missing" | "expired" }

const token = (): string => randomBytes(32).toString("base64url")

/** Constant-time comparison of two tokens (neither content nor length shows in the time taken). */
export const sameToken = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export const makeSessionStore = (now: () => number, limits: SessionLimits = defaultSessionLimits) => {
  const sessions = new Map<string, Session>()
  const expiredIds = new Set<string>()

  const expired = (s: Session, at: number): boolean => at >= s.idleDeadlineMs || at >= s.createdMs + limits.absoluteMs

  /** Drops ended sessions, then the oldest-idle ones until there is room for one more. */
  const prune = (at: number): void => {
    for (const [id, s] of sessions) if (expired(s, at)) sessions.delete(id)
    while (sessions.size >= limits.maxSessions) {
      let oldest: Session | undefined
      for (const s of sessions.values()) if (oldest === undefined || s.idleDeadlineMs < oldest.idleDeadlineMs) oldest = s
      sessions.delete(oldest!.id)
    }
  }

  const create = (credentials: SessionCredentials): Session => {
    const at = now()
    prune(at)
    const session: Session = { id: token(), csrfToken: token(), credentials, createdMs: at, idleDeadlineMs: at + limits.idleMs }
    sessions.set(session.id, session)
    return session
  }

  const lookup = (id: string | undefined): SessionLookup => {
    if (id === undefined) return { ok: false, reason: "missing" }
    const session = sessions.get(id)
    if (session === undefined) return { ok: false, reason: expiredIds.has(id) ? "expired" : "missing" }
    const at = now()
    if (expired(session, at)) {
      sessions.delete(id)
      // Remembered (bounded) only so that the browser can say "your session expired" rather than "signed out".
      if (expiredIds.size > limits.maxSessions) expiredIds.clear()
      expiredIds.add(id)
      return { ok: false, reason: "expired" }
    }
    session.idleDeadlineMs = Math.min(at + limits.idleMs, session.createdMs + limits.absoluteMs)
    return { ok: true, session }
  }

  const end = (id: string): void => void sessions.delete(id)

  return { create, lookup, end, size: () => sessions.size }
}

export type SessionStore = ReturnType<typeof makeSessionStore>

/**
 * Limits how fast anyone can guess at the console's sign-in: failed
 * sign-ins are counted per client address and per access key over a
 * sliding window, and past either limit a sign-in is refused with 429 and
 * the seconds until the oldest counted failure leaves the window — before
 * the secret is even compared. A success clears that address's failures.
 *
 * Two counters because each alone has a gap: per address only, many
 * addresses could guess one key; per key only, one address could sweep
 * many keys. The per-key limit is the higher one, since reaching it locks
 * the key's real owner out of the console too (not out of S3 or the admin
 * API, which sign each request and are not limited here) for at most one
 * window: the price of capping guesses at a rate no botnet can raise.
 *
 * Memory is bounded: past `maxTracked` entries the least recently failed
 * one is forgotten (Map keeps insertion order; a failure re-inserts).
 */
import { assert } from "@cairn/core/invariant/invariant"

export interface SignInLimits {
  /** The window failures are counted over. */
  readonly windowMs: number
  /** Failures from one client address within the window before it must wait. */
  readonly perAddress: number
  /** Failures for one access key, from anywhere, within the window before it must wait. */
  readonly perKey: number
  /** Most addresses and keys remembered at once. */
  readonly maxTracked: number
}

export const defaultSignInLimits: SignInLimits = { windowMs: 5 * 60_000, perAddress: 10, perKey: 30, maxTracked: 10_000 }

/** A sign-in may go ahead, or must wait this many whole seconds (at least 1). */
export type SignInAdmission = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number }

export const makeSignInLimiter = (now: () => number, limits: SignInLimits = defaultSignInLimits) => {
  assert(limits.windowMs > 0 && limits.perAddress > 0 && limits.perKey > 0 && limits.maxTracked > 0, "sign-in limits must be positive")
  /** Failure times (ms), oldest first, per counter name. */
  const failures = new Map<string, Array<number>>()
  const addressKey = (address: string) => `a/${address}`
  const accessKey = (key: string) => `k/${key}`

  /** The failures of `name` still inside the window; forgets the counter once none are. */
  const recent = (name: string, at: number): ReadonlyArray<number> => {
    const times = failures.get(name)
    if (times === undefined) return []
    while (times.length > 0 && times[0]! <= at - limits.windowMs) times.shift()
    if (times.length === 0) failures.delete(name)
    return times
  }

  /** Milliseconds until `name` is under `limit` again, or 0 if it is now. */
  const waitFor = (name: string, limit: number, at: number): number => {
    const times = recent(name, at)
    if (times.length < limit) return 0
    return times[times.length - limit]! + limits.windowMs - at
  }

  const note = (name: string, at: number): void => {
    const times = [...recent(name, at), at]
    failures.delete(name) // re-inserted last: the most recently failed
    failures.set(name, times)
    while (failures.size > limits.maxTracked) failures.delete(failures.keys().next().value!)
  }

  return {
    admit: (address: string, key: string): SignInAdmission => {
      const at = now()
      const waitMs = Math.max(waitFor(addressKey(address), limits.perAddress, at), waitFor(accessKey(key), limits.perKey, at))
      return waitMs <= 0 ? { ok: true } : { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) }
    },
    failed: (address: string, key: string): void => {
      const at = now()
      note(addressKey(address), at)
      note(accessKey(key), at)
    },
    /** A right secret: this address's failures are forgiven; the key's, from other addresses, stay. */
    succeeded: (address: string): void => {
      failures.delete(addressKey(address))
    },
    /** How many counters are held (for tests of the bound). */
    tracked: (): number => failures.size
  }
}

export type SignInLimiter = ReturnType<typeof makeSignInLimiter>

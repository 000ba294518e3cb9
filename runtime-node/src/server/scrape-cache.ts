/**
 * A figure that is costly to compute (a walk of the shard directory, a count
 * of the catalog), served from a cache so that a scrape never waits for it
 * and the node never spends much on it:
 *
 * - a scrape gets the last value at once and, when it is stale, starts a
 *   recomputation in the background (one at a time) for later scrapes;
 * - a value is stale after `minTtlMs`, or after `1 / maxShare` times what
 *   computing it took, whichever is longer: with the default 1 %, a count
 *   that takes 2 s is redone at most every 200 s, so a large store costs at
 *   most about 1 % of the time (and is that much older);
 * - before the first value, a scrape waits for it at most `firstWaitMs`,
 *   then gets `undefined` (the gauge reads NaN) rather than time out;
 * - a failed computation drops the cached value (a failing disk must not
 *   hide behind an old figure) and rejects the scrape that waits for it.
 */
export interface ScrapeCacheOptions {
  readonly minTtlMs: number
  readonly maxShare?: number
  readonly firstWaitMs?: number
  readonly now?: () => number
}

export interface CachedValue<A> {
  readonly value: A
  /** When it was computed (the `now` clock, ms). */
  readonly at: number
}

export const cachedForScrapes = <A>(options: ScrapeCacheOptions, compute: () => Promise<A>): () => Promise<CachedValue<A> | undefined> => {
  const now = options.now ?? (() => performance.now())
  const share = options.maxShare ?? 0.01
  let last: (CachedValue<A> & { readonly costMs: number }) | undefined
  let running: Promise<CachedValue<A>> | undefined
  const start = (): Promise<CachedValue<A>> => {
    const began = now()
    running = compute().then(
      (value) => {
        const at = now()
        last = { value, at, costMs: at - began }
        running = undefined
        return last
      },
      (e: unknown) => {
        last = undefined
        running = undefined
        throw e
      }
    )
    return running
  }
  return () => {
    if (last !== undefined) {
      if (running === undefined && now() - last.at >= Math.max(options.minTtlMs, last.costMs / share)) {
        // Its failure shows at the next scrape, which finds no value and waits for a new attempt.
        start().catch(() => undefined)
      }
      return Promise.resolve(last)
    }
    const first = running ?? start()
    return new Promise<CachedValue<A> | undefined>((resolve, reject) => {
      const timer = setTimeout(() => resolve(undefined), options.firstWaitMs ?? 1_000)
      timer.unref()
      first.then(
        (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        (e: unknown) => {
          clearTimeout(timer)
          reject(e)
        }
      )
    })
  }
}

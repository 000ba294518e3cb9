/**
 * A figure that is costly to compute (a directory walk, a catalog scan),
 * recomputed at most once per `ttlMs` however often Prometheus scrapes; one
 * computation at a time, shared by concurrent scrapes. A failed computation
 * is not cached: the next scrape tries again.
 */
export const cachedForScrapes = <A>(ttlMs: number, compute: () => Promise<A>, now: () => number = () => performance.now()): () => Promise<A> => {
  let last: { readonly at: number; readonly value: A } | undefined
  let running: Promise<A> | undefined
  return () => {
    if (last !== undefined && now() - last.at < ttlMs) return Promise.resolve(last.value)
    running ??= compute().then(
      (value) => {
        last = { at: now(), value }
        running = undefined
        return value
      },
      (e: unknown) => {
        running = undefined
        throw e
      }
    )
    return running
  }
}

/**
 * The overload series carry each watched listener's figures at scrape time,
 * both listeners side by side (a counter for one must not clear the other's).
 */
import { Registry } from "prom-client"
import { describe, expect, it } from "vitest"
import type { GuardStats } from "../overload/guard.ts"
import { makeOverloadMetrics } from "./overload-metrics.ts"

const stats = (n: number): GuardStats => ({
  inflightLimit: n,
  loopDelayMs: n,
  inflightRequests: n,
  inflightBytes: n,
  queued: n,
  shed: { "queue-full": n, "queue-timeout": 0, "client-limit": 0 },
  connections: n,
  connectionsRefused: n,
  idleEvicted: n,
  slowBodies: n,
  headerTimeouts: n
})

describe("overload metrics", () => {
  it("exports every series for both listeners", async () => {
    const registry = new Registry()
    const metrics = makeOverloadMetrics(registry)
    metrics.watch("kv", () => stats(3))
    metrics.watch("s3", () => stats(5))
    const text = await registry.metrics()
    for (const series of ["cairn_overload_header_timeouts_total", "cairn_overload_connections_refused_total", "cairn_overload_connections_evicted_total", "cairn_overload_queued_requests", "cairn_overload_inflight_limit"]) {
      expect(text).toContain(`${series}{listener="kv"} 3`)
      expect(text).toContain(`${series}{listener="s3"} 5`)
    }
    expect(text).toContain(`cairn_overload_shed_total{listener="kv",reason="queue-full"} 3`)
  })
})

/**
 * Overload metrics of the S3 and KV listeners, read from their guards at
 * scrape time: requests in flight (and the adaptive limit on them), queued
 * and shed (by reason), in-flight body bytes, open, refused and evicted
 * connections, header timeouts, cut trickling bodies, the event loop's delay. What an operator watches when a node is pushed past its
 * sustainable rate (docs/server.md, "Under overload").
 */
import { Counter, Gauge, type Registry } from "prom-client"
import { shedReasons } from "../overload/admission.ts"
import type { GuardStats } from "../overload/guard.ts"

export type ListenerName = "s3" | "kv"

export interface OverloadMetrics {
  /** Reads `stats` at every scrape, labelled with `listener`. */
  readonly watch: (listener: ListenerName, stats: () => GuardStats) => void
}

export const makeOverloadMetrics = (registry: Registry): OverloadMetrics => {
  const watched = new Map<ListenerName, () => GuardStats>()
  const registers = [registry]
  const each = (read: (s: GuardStats) => number) =>
    function(this: Gauge<"listener"> | Counter<"listener">) {
      // A counter is set by clearing it once and adding each listener's running total.
      if (this instanceof Counter) this.reset()
      for (const [listener, stats] of watched) {
        if (this instanceof Counter) this.inc({ listener }, read(stats()))
        else this.set({ listener }, read(stats()))
      }
    }
  const gauge = (name: string, help: string, read: (s: GuardStats) => number) =>
    new Gauge({ name, help, labelNames: ["listener"], registers, collect: each(read) })
  const counter = (name: string, help: string, read: (s: GuardStats) => number) =>
    new Counter({ name, help, labelNames: ["listener"], registers, collect: each(read) })
  gauge("cairn_overload_inflight_requests", "Requests admitted and being served, per listener", (s) => s.inflightRequests)
  gauge("cairn_overload_inflight_limit", "Requests served at once now, per listener: --max-inflight-requests, or less while the event loop runs late", (s) => s.inflightLimit)
  gauge("cairn_overload_event_loop_delay_seconds", "How late the event loop's last sample fired (the adaptive in-flight limit's signal)", (s) => s.loopDelayMs / 1000)
  gauge("cairn_overload_inflight_bytes", "Declared body bytes of the requests being served, per listener", (s) => s.inflightBytes)
  gauge("cairn_overload_queued_requests", "Requests waiting for admission, per listener", (s) => s.queued)
  gauge("cairn_overload_connections", "Open connections, per listener", (s) => s.connections)
  counter("cairn_overload_connections_refused_total", "Connections closed on arrival because the listener had --max-connections open, none of them idle", (s) => s.connectionsRefused)
  counter("cairn_overload_connections_evicted_total", "Idle kept-alive connections closed to make room for a new one at --max-connections", (s) => s.idleEvicted)
  counter("cairn_overload_header_timeouts_total", "Connections closed because request headers did not arrive within --header-timeout-ms", (s) => s.headerTimeouts)
  counter("cairn_overload_slow_bodies_total", "Requests cut because their body arrived slower than --min-body-bytes-per-second", (s) => s.slowBodies)
  new Counter({
    name: "cairn_overload_shed_total",
    help: "Requests shed with 503 (S3 SlowDown, KV slow-down) by listener and reason: queue-full, queue-timeout, client-limit",
    labelNames: ["listener", "reason"],
    registers,
    collect() {
      this.reset()
      for (const [listener, stats] of watched) {
        const shed = stats().shed
        for (const reason of shedReasons) this.inc({ listener, reason }, shed[reason])
      }
    }
  })
  return { watch: (listener, stats) => void watched.set(listener, stats) }
}

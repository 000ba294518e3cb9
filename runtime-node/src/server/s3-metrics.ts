/**
 * S3 metrics, fed by the listener's exchange records: request counts by S3
 * operation and status, latency by operation, body bytes each way, requests
 * in flight and responses cut short. Label values come from a fixed set
 * (operation names, HTTP statuses), never from the request itself.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client"
import type { S3Exchange } from "../s3/exchange.ts"

export interface S3Metrics {
  readonly observe: (exchange: S3Exchange) => void
}

/** Registers the S3 series in `registry`; `inFlight` is read at scrape time. */
export const makeS3Metrics = (registry: Registry, inFlight: () => number): S3Metrics => {
  const registers = [registry]
  const requests = new Counter({
    name: "cairn_s3_requests_total",
    help: "S3 requests by operation and HTTP status (499: the client left before the response)",
    labelNames: ["operation", "code"],
    registers
  })
  const seconds = new Histogram({
    name: "cairn_s3_request_duration_seconds",
    help: "S3 request latency by operation, from arrival to the end of the response body",
    labelNames: ["operation"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers
  })
  const bytesIn = new Counter({ name: "cairn_s3_request_bytes_total", help: "S3 request body bytes received, by operation", labelNames: ["operation"], registers })
  const bytesOut = new Counter({ name: "cairn_s3_response_bytes_total", help: "S3 response body bytes sent, by operation", labelNames: ["operation"], registers })
  const incomplete = new Counter({
    name: "cairn_s3_incomplete_responses_total",
    help: "S3 responses cut short (the client left, or the body failed after the headers), by operation",
    labelNames: ["operation"],
    registers
  })
  new Gauge({
    name: "cairn_s3_requests_in_flight",
    help: "S3 requests being served",
    registers,
    collect() {
      this.set(inFlight())
    }
  })
  return {
    observe: (x) => {
      const operation = { operation: x.operation }
      requests.inc({ operation: x.operation, code: String(x.status) })
      seconds.observe(operation, x.seconds)
      if (x.bytesIn > 0) bytesIn.inc(operation, x.bytesIn)
      if (x.bytesOut > 0) bytesOut.inc(operation, x.bytesOut)
      if (!x.complete) incomplete.inc(operation)
    }
  }
}

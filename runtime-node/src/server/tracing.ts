/**
 * Tracing: the Effect spans of the server (`PUT /v1/kv/{key}` ...), the KV
 * node (`kv.submit`, `kv.query`) and the Raft driver (`raft.persist`,
 * `raft.apply`), exported over OTLP/HTTP (JSON) when `--otlp-endpoint` is
 * set. Off by default: then no tracer is installed and nothing is sent.
 *
 * Effect's own exporter (`effect/observability`) batches ended spans and
 * posts them every few seconds from its own fiber; a failed export is
 * retried, then exporting pauses for 60 s (logged at debug level). Requests
 * never wait on the collector.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Layer } from "effect"
import { OtlpExporter, OtlpSerialization, OtlpTracer } from "effect/observability"
import type { ServerConfig } from "./config.ts"

/** The traces URL for an OTLP base URL: `<base>/v1/traces`, as the OpenTelemetry SDKs do (a URL already ending so is kept). */
export const tracesUrl = (endpoint: string): string => {
  const url = new URL(endpoint)
  if (!url.pathname.endsWith("/v1/traces")) url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/traces`
  return url.toString()
}

export interface TracingOptions {
  /** How often batched spans are sent (default 5000 ms, the OpenTelemetry SDKs' default). */
  readonly exportIntervalMs?: number
}

/** Installs the OTLP tracer when the configuration names an endpoint; otherwise adds nothing. */
export const tracingLayer = (config: ServerConfig, options: TracingOptions = {}): Layer.Layer<OtlpExporter.Flusher> => {
  if (config.otlpEndpoint === undefined) return OtlpExporter.layerFlusher
  return OtlpTracer.layer({
    url: tracesUrl(config.otlpEndpoint),
    resource: {
      serviceName: "cairn",
      attributes: { "service.instance.id": config.id, "cairn.node.id": config.id }
    },
    exportInterval: options.exportIntervalMs ?? 5_000,
    shutdownTimeout: 3_000
  }).pipe(
    Layer.provide(OtlpSerialization.layerJson),
    Layer.provide(NodeHttpClient.layerNodeHttp)
  )
}

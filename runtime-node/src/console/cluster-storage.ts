/**
 * `GET /api/cluster/storage`: what the cluster page shows below the member
 * table — the erasure scheme, the object catalog, and each member's disk
 * use, repair and GC figures, read from that member's own `/metrics` with
 * the session's key (the same figures Prometheus would scrape), within 2 s
 * each so that a dead member cannot stall the page. The member list comes
 * from the admin API, so a key that is not the admin's gets its refusal.
 */
import type { ServerResponse } from "node:http"
import type { MemberEntry } from "../cli/cluster-health.ts"
import { apiAuthorization } from "../server/api-credentials.ts"
import type { NodeStorage, StorageView } from "./contract.ts"
import type { ReadScheme } from "./erasure-scheme.ts"
import { json } from "./http-replies.ts"
import { figure, parseExposition, type PromSample } from "./prometheus-text.ts"
import type { Session } from "./sessions.ts"
import { fetchJson, fetchText, type Upstream } from "./upstream.ts"

export interface StorageOptions {
  readonly nodeId: string
  readonly api: Upstream
  readonly apiScheme: "http" | "https"
  readonly erasureScheme: ReadScheme
}

type Scraped = { readonly ok: true; readonly samples: ReadonlyArray<PromSample> } | { readonly ok: false; readonly error: string }

/** A member's /metrics: this node through its own listener (its pinned certificate), the others at their API address. */
const scrape = async (options: StorageOptions, m: MemberEntry, authorization: string): Promise<Scraped> => {
  try {
    if (m.id === options.nodeId) {
      const own = await fetchText(options.api, "/metrics", { authorization })
      return own.status === 200 ? { ok: true, samples: parseExposition(own.text) } : { ok: false, error: `this node's /metrics: HTTP ${own.status}` }
    }
    if (m.apiAddress === null) return { ok: false, error: "no API address known" }
    const url = `${options.apiScheme}://${m.apiAddress}/metrics`
    const res = await fetch(url, { headers: { authorization }, signal: AbortSignal.timeout(2000) })
    return res.ok ? { ok: true, samples: parseExposition(await res.text()) } : { ok: false, error: `${url}: HTTP ${res.status}` }
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) }
  }
}

/** A Unix time in seconds as ms; before a node's first sweep its gauge reads 0 (or is absent), which is "never". */
const seconds = (v: number | null) => (v === null || v <= 0 ? null : v * 1000)

export const nodeStorageOf = (id: string, scraped: Scraped, draining = false): NodeStorage => {
  const s = scraped.ok ? scraped.samples : []
  const f = (name: string, labels?: Record<string, string>) => figure(s, name, labels)
  return {
    id,
    draining,
    ...(scraped.ok ? {} : { error: scraped.error }),
    diskSizeBytes: f("cairn_disk_size_bytes"),
    diskAvailableBytes: f("cairn_disk_available_bytes"),
    shardBytes: f("cairn_node_shard_bytes"),
    shards: f("cairn_node_shards"),
    raftBytes: f("cairn_node_raft_bytes"),
    repair: {
      sweeps: f("cairn_repair_sweeps_total"),
      lastSweepMs: seconds(f("cairn_repair_last_sweep_timestamp_seconds")),
      shardsRebuilt: f("cairn_repair_shards_rebuilt_total"),
      unrepairedLost: f("cairn_repair_unrepaired_stripes", { reason: "lost" }),
      unrepairedUnavailable: f("cairn_repair_unrepaired_stripes", { reason: "unavailable" })
    },
    gc: {
      sweeps: f("cairn_gc_sweeps_total"),
      lastSweepMs: seconds(f("cairn_gc_last_sweep_timestamp_seconds")),
      orphanShards: f("cairn_gc_orphan_shards"),
      shardsRemoved: f("cairn_gc_shards_removed_total")
    }
  }
}

/** The catalog is cluster-wide (every replica holds it): this node's figures are the cluster's. */
const catalogOf = (scraped: Scraped | undefined): StorageView["catalog"] => {
  const s = scraped?.ok === true ? scraped.samples : []
  return {
    objects: figure(s, "cairn_catalog_objects", { version: "current" }),
    objectBytes: figure(s, "cairn_catalog_object_bytes"),
    noncurrentVersions: figure(s, "cairn_catalog_objects", { version: "noncurrent" }),
    deleteMarkers: figure(s, "cairn_catalog_delete_markers"),
    multipartUploads: figure(s, "cairn_catalog_multipart_uploads")
  }
}

export const serveClusterStorage = async (options: StorageOptions, res: ServerResponse, session: Session): Promise<void> => {
  const authorization = apiAuthorization(session.credentials)
  const listed = await fetchJson(options.api, "/v1/admin/members", { authorization })
  if (listed.status !== 200) return json(res, listed.status, listed.body)
  const body = listed.body as { readonly members?: unknown }
  const members = (Array.isArray(body.members) ? body.members : []) as ReadonlyArray<MemberEntry>
  const [scheme, scraped] = await Promise.all([options.erasureScheme(), Promise.all(members.map((m) => scrape(options, m, authorization)))])
  const own = scraped[members.findIndex((m) => m.id === options.nodeId)]
  json(res, 200, {
    node: options.nodeId,
    scheme: scheme.scheme,
    ...(scheme.note === undefined ? {} : { schemeNote: scheme.note }),
    catalog: catalogOf(own),
    nodes: members.map((m, i) => nodeStorageOf(m.id, scraped[i]!, m.draining === true))
  } satisfies StorageView)
}

/**
 * How the container test talks to a node from the host: the S3 API through
 * the AWS CLI (/usr/bin/aws, as a user would), the KV HTTP API and the open
 * probes with fetch. Every call has a deadline; none asserts on time.
 */
import { run, type Ran } from "./podman.ts"

export interface NodePorts {
  readonly id: string
  readonly s3: number
  readonly api: number
}

export interface Credentials {
  readonly accessKey: string
  readonly secretKey: string
}

/** `aws <args>` against a node's S3 endpoint. `attempts` is the CLI's own retry budget (AWS_MAX_ATTEMPTS). */
export const aws = (node: NodePorts, credentials: Credentials, args: ReadonlyArray<string>, attempts = 5): Ran =>
  run("aws", ["--endpoint-url", `http://127.0.0.1:${node.s3}`, ...args], {
    env: {
      AWS_ACCESS_KEY_ID: credentials.accessKey,
      AWS_SECRET_ACCESS_KEY: credentials.secretKey,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_MAX_ATTEMPTS: String(attempts),
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_CONFIG_FILE: "/dev/null",
      AWS_SHARED_CREDENTIALS_FILE: "/dev/null"
    },
    timeoutMs: 180_000
  })

const basic = (c: Credentials) => `Basic ${Buffer.from(`${c.accessKey}:${c.secretKey}`).toString("base64")}`

export interface HttpAnswer {
  readonly status: number
  readonly body: string
}

/** One HTTP request to a node's KV API; a connection failure is status 0 with the error as the body. */
export const api = async (
  node: NodePorts,
  path: string,
  init: { readonly method?: string; readonly body?: string; readonly credentials?: Credentials } = {}
): Promise<HttpAnswer> => {
  try {
    const res = await fetch(`http://127.0.0.1:${node.api}${path}`, {
      method: init.method ?? "GET",
      ...(init.body === undefined ? {} : { body: init.body }),
      headers: init.credentials === undefined ? {} : { authorization: basic(init.credentials) },
      signal: AbortSignal.timeout(15_000)
    })
    return { status: res.status, body: await res.text() }
  } catch (e) {
    return { status: 0, body: e instanceof Error ? `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ""}` : String(e) }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Retries `attempt` every second until it returns a value or `seconds` pass; the last answer explains a failure. */
export const retry = async <A>(
  seconds: number,
  attempt: () => Promise<{ readonly ok: true; readonly value: A } | { readonly ok: false; readonly why: string }>
): Promise<{ readonly ok: true; readonly value: A } | { readonly ok: false; readonly why: string }> => {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const r = await attempt()
    if (r.ok || Date.now() > deadline) return r
    await sleep(1000)
  }
}

/** Waits for a node's `/ready` to answer 200. */
export const waitReady = (node: NodePorts, seconds: number) =>
  retry(seconds, async () => {
    const r = await api(node, "/ready")
    return r.status === 200 ? { ok: true as const, value: r.body } : { ok: false as const, why: `${node.id} /ready: ${r.status} ${r.body}` }
  })

/** A KV write through `node`, retried while the cluster answers 503 (an election) or the node is unreachable. */
export const kvPut = (node: NodePorts, credentials: Credentials, key: string, value: string, seconds = 30) =>
  retry(seconds, async () => {
    const r = await api(node, `/v1/kv/${encodeURIComponent(key)}`, { method: "PUT", body: value, credentials })
    return r.status === 200 ? { ok: true as const, value: r.body } : { ok: false as const, why: `PUT ${key} on ${node.id}: ${r.status} ${r.body}` }
  })

/** A KV read through `node` that must return `expected`. */
export const kvGet = (node: NodePorts, credentials: Credentials, key: string, expected: string, seconds = 30) =>
  retry(seconds, async () => {
    const r = await api(node, `/v1/kv/${encodeURIComponent(key)}`, { credentials })
    return r.status === 200 && r.body === expected
      ? { ok: true as const, value: r.body }
      : { ok: false as const, why: `GET ${key} on ${node.id}: ${r.status} ${r.body.slice(0, 200)}` }
  })

/** This node's `/v1/status`. */
export const status = async (node: NodePorts, credentials: Credentials) => {
  const r = await api(node, "/v1/status", { credentials })
  if (r.status !== 200) return undefined
  return JSON.parse(r.body) as { id: string; role: string; leader: string | null; commit: number; applied: number; term: number }
}

/** One unlabelled gauge or counter of this node's `/metrics`; undefined when absent or not a number (NaN: not the leader). */
export const metric = async (node: NodePorts, credentials: Credentials, name: string): Promise<number | undefined> => {
  const r = await api(node, "/metrics", { credentials })
  if (r.status !== 200) return undefined
  const line = r.body.split("\n").find((l) => l.startsWith(`${name} `))
  const value = line === undefined ? Number.NaN : Number(line.slice(name.length + 1))
  return Number.isNaN(value) ? undefined : value
}

/**
 * A real `cairn server` process scraped by a real Prometheus (Debian's
 * /usr/bin/prometheus; .ci/run installs it): after a few S3 requests the
 * S3, Raft and process series come back through Prometheus's query API,
 * the alert rules of deploy/prometheus load and evaluate, and every query
 * of the Grafana dashboard parses. Every metric name the dashboard and the
 * alerts use must exist on the live /metrics, so neither can drift from the
 * code, and docs/server.md must list every series served. The same server
 * runs with `--log-level debug` and an access log file, which this test
 * reads back.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freeLoopbackPorts } from "../net/free-ports.ts"
import { PROCESS_ADMIN, type ServerProcess, startServerProcess } from "../s3/server-process.test-support.ts"
import { signRequest } from "../s3/sign-request.ts"
import { apiHeaders } from "./api-credentials.ts"
import { cliMain, exited } from "./local-cluster.ts"

const deployDir = join(import.meta.dirname, "..", "..", "..", "deploy")
const PROMETHEUS = "/usr/bin/prometheus"

/** Metric names a PromQL expression refers to (Cairn's, the process's and Node's; `up` is Prometheus's own). */
const metricNamesIn = (expr: string): ReadonlyArray<string> => [...new Set(expr.match(/\b(?:cairn|process|nodejs)_[a-z0-9_]+\b/g) ?? [])]

/** The names among `names` that a /metrics exposition does not define (a histogram defines its _bucket, _sum and _count). */
const missingFrom = (exposition: string, names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const types = new Map<string, string>()
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!)
  return names.filter((name) => {
    if (types.has(name)) return false
    const base = name.replace(/_(bucket|sum|count)$/, "")
    return types.get(base) !== "histogram" && types.get(base) !== "summary"
  })
}

interface DashboardPanel {
  readonly title?: string
  readonly targets?: ReadonlyArray<{ readonly expr?: string }>
}

const dashboardExprs = (): ReadonlyArray<{ readonly panel: string; readonly expr: string }> => {
  const dashboard = JSON.parse(readFileSync(join(deployDir, "grafana", "cairn.json"), "utf8")) as { readonly panels: ReadonlyArray<DashboardPanel> }
  return dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => (t.expr === undefined ? [] : [{ panel: p.title ?? "?", expr: t.expr }])))
}

const alertExprs = (): ReadonlyArray<string> =>
  [...readFileSync(join(deployDir, "prometheus", "cairn-alerts.yml"), "utf8").matchAll(/expr: (\|\n((?: {10}.*\n)+)|.*)/g)].map((m) => (m[2] ?? m[1]!).trim())

describe("metrics scraped by Prometheus", () => {
  let server: ServerProcess
  let prometheus: ChildProcess | undefined
  let promUrl = ""
  const dir = mkdtempSync(join(tmpdir(), "cairn-prometheus-"))
  const accessLog = join(dir, "access.log")
  const body = "metrics test body ".repeat(1000)

  const s3 = async (method: string, path: string, payload?: string): Promise<number> => {
    const url = new URL(`${server.endpoint}${path}`)
    const headers = signRequest({ ...PROCESS_ADMIN, region: "us-east-1" }, { method, url, ...(payload === undefined ? {} : { body: payload }) })
    const r = await fetch(url, { method, headers, ...(payload === undefined ? {} : { body: payload }) })
    await r.arrayBuffer()
    return r.status
  }

  const query = async (promql: string): Promise<{ readonly status: string; readonly error?: string; readonly data?: { readonly result: ReadonlyArray<{ readonly metric: Record<string, string>; readonly value: [number, string] }> } }> =>
    (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`)).json() as never

  /** Polls until the query returns at least one sample. */
  const eventually = async (promql: string): Promise<ReadonlyArray<{ readonly metric: Record<string, string>; readonly value: [number, string] }>> => {
    for (let i = 0; i < 300; i++) {
      const r = await query(promql)
      if (r.status === "success" && r.data !== undefined && r.data.result.length > 0) return r.data.result
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`Prometheus never returned a sample for ${promql}`)
  }

  beforeAll(async () => {
    server = await startServerProcess(["--log-level", "debug", "--access-log", accessLog])
    expect(await s3("PUT", "/metrics-bucket")).toBe(200)
    expect(await s3("PUT", "/metrics-bucket/object", body)).toBe(200)
    expect(await s3("GET", "/metrics-bucket/object")).toBe(200)
    expect(await s3("GET", "/metrics-bucket/missing")).toBe(404)
    expect(await s3("GET", "/metrics-bucket?policy")).toBe(501)

    const [port] = await freeLoopbackPorts(1)
    promUrl = `http://127.0.0.1:${port}`
    const config = join(dir, "prometheus.yml")
    writeFileSync(config, [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "rule_files:",
      `  - ${join(deployDir, "prometheus", "cairn-alerts.yml")}`,
      "scrape_configs:",
      "  - job_name: cairn",
      "    basic_auth:",
      `      username: ${PROCESS_ADMIN.accessKey}`,
      `      password: ${PROCESS_ADMIN.secretKey}`,
      "    static_configs:",
      `      - targets: ["${new URL(server.api).host}"]`,
      ""
    ].join("\n"))
    const output: Array<string> = []
    // Its own process group, so the whole group can be stopped at the end.
    prometheus = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"]
    })
    prometheus.stdout!.on("data", (d: Buffer) => output.push(d.toString()))
    prometheus.stderr!.on("data", (d: Buffer) => output.push(d.toString()))
    const failedToStart = new Promise<never>((_, reject) => {
      prometheus!.once("error", (e) => reject(new Error(`cannot run ${PROMETHEUS} (apt-get install prometheus): ${e.message}`)))
      prometheus!.once("exit", (code) => reject(new Error(`prometheus exited (${code}):\n${output.join("")}`)))
    })
    const ready = (async () => {
      for (;;) {
        if ((await fetch(`${promUrl}/-/ready`).then((r) => r.status, () => 0)) === 200) return
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })()
    await Promise.race([ready, failedToStart])
  })

  afterAll(async () => {
    const p = prometheus
    if (p?.pid !== undefined && p.exitCode === null && p.signalCode === null) {
      process.kill(-p.pid, "SIGTERM")
      const timer = setTimeout(() => process.kill(-p.pid!, "SIGKILL"), 10_000)
      await exited(p)
      clearTimeout(timer)
    }
    await server?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it("serves every metric the dashboard and the alerts use on the live /metrics", async () => {
    const exposition = await (await fetch(`${server.api}/metrics`, { headers: apiHeaders(PROCESS_ADMIN) })).text()
    const used = [...new Set([...dashboardExprs().flatMap((q) => metricNamesIn(q.expr)), ...alertExprs().flatMap(metricNamesIn)])]
    expect(used.length).toBeGreaterThan(30)
    expect(alertExprs().length).toBe(10)
    expect(missingFrom(exposition, used)).toEqual([])
    // docs/server.md's table names every series the server serves.
    const docs = readFileSync(join(deployDir, "..", "docs", "server.md"), "utf8")
    const served = [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!)
    expect(served.length).toBeGreaterThan(60)
    expect(served.filter((name) => !docs.includes(`\`${name}\``))).toEqual([])
    // The check itself can fail: a name the server does not serve is reported.
    expect(missingFrom(exposition, ["cairn_s3_request_duration_seconds_bucket", "cairn_no_such_metric_total", "cairn_raft_term_bucket"])).toEqual(["cairn_no_such_metric_total", "cairn_raft_term_bucket"])
  })

  it("returns S3, Raft and process series through Prometheus's query API", async () => {
    const puts = await eventually('sum(cairn_s3_requests_total{job="cairn", operation="PutObject", code="200"})')
    expect(Number(puts[0]!.value[1])).toBeGreaterThan(0)
    const notImplemented = await eventually('cairn_s3_requests_total{operation="GetBucketPolicy", code="501"}')
    expect(Number(notImplemented[0]!.value[1])).toBe(1)
    const bytesIn = await eventually('cairn_s3_request_bytes_total{operation="PutObject"}')
    expect(Number(bytesIn[0]!.value[1])).toBe(body.length)
    const term = await eventually("cairn_raft_term")
    expect(Number(term[0]!.value[1])).toBeGreaterThanOrEqual(1)
    expect((await eventually('cairn_raft_role{role="leader"}'))[0]!.value[1]).toBe("1")
    expect(Number((await eventually("process_cpu_seconds_total"))[0]!.value[1])).toBeGreaterThan(0)
    expect(Number((await eventually("cairn_disk_available_bytes"))[0]!.value[1])).toBeGreaterThan(0)
    expect((await eventually('up{job="cairn"}'))[0]!.value[1]).toBe("1")
  })

  it("parses every dashboard query and evaluates every alert rule", async () => {
    await eventually("cairn_s3_requests_total")
    for (const { panel, expr } of dashboardExprs()) {
      const r = await query(expr.replaceAll("$__rate_interval", "10s").replaceAll("$instance", ".*"))
      expect({ panel, expr, status: r.status, error: r.error }).toEqual({ panel, expr, status: "success", error: undefined })
    }
    let health: ReadonlyArray<string> = []
    for (let i = 0; i < 100; i++) {
      const rules = await (await fetch(`${promUrl}/api/v1/rules`)).json() as { data: { groups: ReadonlyArray<{ rules: ReadonlyArray<{ name: string; health: string }> }> } }
      health = rules.data.groups.flatMap((g) => g.rules.map((r) => `${r.name}:${r.health}`))
      if (health.length > 0 && health.every((h) => h.endsWith(":ok"))) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(health.length).toBe(10)
    expect(health.filter((h) => !h.endsWith(":ok"))).toEqual([])
  })

  it("writes the access log and the debug log the flags asked for", () => {
    const lines = readFileSync(accessLog, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>)
    const put = lines.find((l) => l.operation === "PutObject")
    expect(put).toMatchObject({ msg: "s3 access", user: "admin", accessKey: PROCESS_ADMIN.accessKey, bucket: "metrics-bucket", key: "object", status: 200, bytesIn: body.length })
    expect(typeof put!.requestId).toBe("string")
    expect(typeof put!.ms).toBe("number")
    expect(lines.find((l) => l.operation === "GetObject" && l.status === 200)).toMatchObject({ bytesOut: body.length })
    expect(lines.find((l) => l.key === "missing")).toMatchObject({ operation: "GetObject", status: 404, errorCode: "NoSuchKey" })
    expect(lines.find((l) => l.status === 501)).toMatchObject({ operation: "GetBucketPolicy", errorCode: "NotImplemented" })
    // --log-level debug reached the server: each S3 request has its debug line.
    const logged = server.logs.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(logged.some((l) => l.level === "debug" && l.msg === "s3 request" && l.operation === "PutObject")).toBe(true)
    expect(logged.some((l) => l.level === "info" && l.msg === "s3 operation not implemented" && l.operation === "GetBucketPolicy")).toBe(true)
    expect(logged.filter((l) => l.level === "error")).toEqual([])
  })

  it("lists --log-level once in `cairn server --help`", () => {
    const help = spawnSync(process.execPath, [cliMain, "server", "--help"], { encoding: "utf8", timeout: 60_000 })
    expect(help.stdout.match(/--log-level/g)?.length).toBe(1)
    expect(help.stdout).toContain("--access-log")
  })
})

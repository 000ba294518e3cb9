/**
 * `npm run test:upgrade`: a rolling upgrade of a 3-node cluster from an
 * older build of Cairn to this checkout, under clients that never stop.
 *
 * 1. Builds the old version: `git worktree add` of CAIRN_UPGRADE_FROM
 *    (default main~5) in a temporary directory, with its dependencies
 *    (`installOld`).
 * 2. Starts 3 nodes with the old build, each in its own process group.
 * 3. Starts the clients (workload.ts): S3 through a TCP balancer with the
 *    AWS SDK's default retries, KV puts through the HTTP API with retries.
 * 4. For each node in turn: SIGTERM its group, wait for it to exit, start
 *    it with this checkout's build on the same data directory, wait for
 *    `/ready` and until it has applied the leader's commit index, then for
 *    the clients to make progress with it before the next node.
 * 5. Stops the clients and checks: no request failed after its retries, and
 *    every acknowledged object and KV value reads back as written; every
 *    data directory now carries a FORMAT record.
 *
 * Prints the figures and exits 0 on success, 1 listing what failed. Every
 * process it started is stopped by its process group id; the worktree is
 * removed. Not part of `npm test` (it builds a second copy of the project).
 */
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3"
import { execFileSync, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { freeLoopbackPorts } from "../../runtime-node/src/net/free-ports.ts"
import {
  apiUrl,
  authed,
  awaitApplied,
  awaitLeader,
  awaitReady,
  killAllStarted,
  nodeStatus,
  type NodeProcess,
  startNode,
  stopNode,
  TEST_CREDENTIALS
} from "../../runtime-node/src/server/cluster-processes.test-support.ts"
import { DATA_DIR_FORMAT } from "../../runtime-node/src/server/data-format.ts"
import { cliMain, type LocalCluster, type LocalNodeSpec, planCluster } from "../../runtime-node/src/server/local-cluster.ts"
import { type Balancer, startBalancer } from "./tcp-balancer.ts"
import { type Counts, KV_MAX_ATTEMPTS, startWorkload, type Workload } from "./workload.ts"

/** The SDK's attempts for writes of copied or striped bodies, which wait out a node's restart (workload.ts). */
const LARGE_WRITE_ATTEMPTS = 10

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..")
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const now = () => performance.now()
const say = (line: string) => process.stdout.write(`${line}\n`)

interface OldBuild {
  readonly dir: string
  readonly commit: string
  readonly cli: string
  readonly remove: () => void
}

/**
 * The old build's dependencies: with the same package-lock.json as this
 * checkout, a hard-linked copy of its node_modules (seconds; the workspace
 * links are relative, so they point into the old tree); otherwise `npm ci`
 * (niced; minutes here, as the `node` package fetches its binary).
 */
const installOld = (dir: string, commit: string): string => {
  const sameLock = spawnSync("git", ["diff", "--quiet", commit, "--", "package-lock.json"], { cwd: root }).status === 0
  if (sameLock && existsSync(join(root, "node_modules"))) {
    execFileSync("cp", ["-al", join(root, "node_modules"), join(dir, "node_modules")])
    return "node_modules hard-linked (same package-lock.json)"
  }
  execFileSync("nice", ["-n", "15", "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, stdio: ["ignore", "ignore", "inherit"] })
  return "npm ci"
}

/** A worktree of `ref` with its dependencies installed. */
const buildOld = (ref: string): OldBuild => {
  const commit = execFileSync("git", ["rev-parse", "--verify", `${ref}^{commit}`], { cwd: root, encoding: "utf8" }).trim()
  const dir = join(mkdtempSync(join(tmpdir(), "cairn-upgrade-")), "old")
  const remove = () => {
    execFileSync("git", ["worktree", "remove", "--force", dir], { cwd: root, stdio: "ignore" })
    rmSync(dirname(dir), { recursive: true, force: true })
  }
  execFileSync("git", ["worktree", "add", "--detach", dir, commit], { cwd: root, stdio: "ignore" })
  try {
    say(`  ${installOld(dir, commit)}`)
  } catch (e) {
    remove()
    throw e
  }
  return { dir, commit, cli: join(dir, "app", "src", "cli", "main.ts"), remove }
}

/** Waits until `done()` holds, checking every 100 ms. */
const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await sleep(100)
}

interface RollFigures {
  readonly id: string
  readonly wasLeader: boolean
  readonly exit: number | string | null
  readonly stopMs: number
  readonly readyMs: number
  readonly catchUpMs: number
}

/** Restarts one node with the new build; returns its new process and what it took. */
const roll = async (cluster: LocalCluster, p: NodeProcess, logFile: string, w: Workload): Promise<{ proc: NodeProcess; figures: RollFigures }> => {
  const leader = await awaitLeader(cluster.nodes)
  const t0 = now()
  const exit = await stopNode(p, "SIGTERM")
  const t1 = now()
  const proc = startNode(cluster, p.node, logFile, cliMain)
  await awaitReady(p.node)
  const t2 = now()
  const others = cluster.nodes.filter((n) => n !== p.node)
  const commits = await Promise.all(others.map(nodeStatus))
  await awaitApplied(p.node, Math.max(...commits.map((s) => s?.commit ?? 0)))
  const t3 = now()
  // Progress with this node back in: writes acknowledged after it caught up.
  const [objects, keys] = [w.objects.size, w.kv.size]
  await until(() => w.objects.size >= objects + 10 && w.kv.size >= keys + 10)
  return { proc, figures: { id: p.node.id, wasLeader: leader === p.node, exit, stopMs: t1 - t0, readyMs: t2 - t1, catchUpMs: t3 - t2 } }
}

/** Every acknowledged object and KV value, read back; returns what differs or cannot be read. */
const verify = async (client: S3Client, bucket: string, nodes: ReadonlyArray<LocalNodeSpec>, w: Workload): Promise<Array<string>> => {
  const problems: Array<string> = []
  for (const [key, digest] of w.objects) {
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      const body = await r.Body!.transformToByteArray()
      if (createHash("sha256").update(body).digest("hex") !== digest) problems.push(`object ${key}: bytes differ`)
    } catch (e) {
      problems.push(`object ${key}: ${(e as Error).name}: ${(e as Error).message}`)
    }
  }
  let i = 0
  for (const [key, value] of w.kv) {
    const node = nodes[i++ % nodes.length]!
    const read = await readKv(node, key)
    if (read.status !== 200 || read.text !== value) problems.push(`kv ${key} on ${node.id}: ${read.status} ${read.text.slice(0, 80)}`)
  }
  return problems
}

/** A linearizable KV read, retried while an election leaves no leader to confirm it (503), as the writers retry. */
const readKv = async (node: LocalNodeSpec, key: string): Promise<{ readonly status: number; readonly text: string }> => {
  for (let attempt = 1; ; attempt++) {
    const r = await authed(`${apiUrl(node)}/v1/kv/${key}`)
    const text = await r.text()
    if (r.status !== 503 || attempt === 10) return { status: r.status, text }
    await sleep(Math.min(2000, 100 * 2 ** attempt))
  }
}

const row = (name: string, c: Counts) =>
  `  ${name.padEnd(13)} ok ${String(c.ok).padStart(6)}   failed ${String(c.failed).padStart(3)}   retried ${String(c.retried).padStart(4)}   attempts ${c.attempts} (at most ${c.maxAttempts} for one)`

const report = (old: OldBuild, rolls: ReadonlyArray<RollFigures>, w: Workload, balancer: Balancer, seconds: number) => {
  const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim()
  say(`rolling upgrade ${old.commit.slice(0, 7)} -> ${head} (working tree), 3 nodes, ${seconds.toFixed(0)} s of client traffic`)
  for (const r of rolls) {
    say(`  ${r.id}${r.wasLeader ? " (leader)" : ""}: exit ${r.exit}; SIGTERM to exit ${r.stopMs.toFixed(0)} ms, start to /ready ${r.readyMs.toFixed(0)} ms, caught up ${r.catchUpMs.toFixed(0)} ms later`)
  }
  say(row("S3 Put small", w.s3SmallPuts))
  say(row("S3 Put large", w.s3LargePuts))
  say(row("S3 GetObject", w.s3Gets))
  say(row("KV PUT", w.kvPuts))
  say(`  balancer connections per S3 port: ${JSON.stringify(Object.fromEntries(balancer.connections))}; attempts allowed: small puts and gets 3 (SDK default), large puts ${LARGE_WRITE_ATTEMPTS}, KV puts ${KV_MAX_ATTEMPTS}`)
}

const makeCluster = async (dataRoot: string): Promise<LocalCluster> =>
  planCluster({ nodes: 3, dataRoot, apiBase: 0, peerBase: 0, s3Base: 0, secret: "rolling-upgrade-secret-0123456789", credentials: TEST_CREDENTIALS, ports: await freeLoopbackPorts(9) })

const run = async (old: OldBuild, dataRoot: string): Promise<Array<string>> => {
  // Upgraded nodes store every shard while older ones still run: a degraded write's record (format 2)
  // would be unreadable to them (docs/upgrades.md). Builds that predate the setting ignore the variable.
  process.env["CAIRN_WRITE_SPARE_SHARDS"] = "1"
  const cluster = await makeCluster(dataRoot)
  const logFile = join(dataRoot, "cluster.log")
  let procs = cluster.nodes.map((n) => startNode(cluster, n, logFile, old.cli))
  await awaitLeader(cluster.nodes)
  for (const n of cluster.nodes) await awaitReady(n)
  const balancer = await startBalancer(cluster.nodes.map((n) => n.s3Port))
  const s3 = (extra: { readonly maxAttempts?: number }) =>
    new S3Client({
      endpoint: `http://127.0.0.1:${balancer.port}`,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: TEST_CREDENTIALS.accessKey, secretAccessKey: TEST_CREDENTIALS.secretKey },
      ...extra
    })
  const client = s3({})
  const patient = s3({ maxAttempts: LARGE_WRITE_ATTEMPTS })
  await client.send(new CreateBucketCommand({ Bucket: "upgrade" }))
  const started = now()
  const w = startWorkload({ defaults: client, patient }, "upgrade", cluster.nodes)
  await until(() => w.objects.size >= 20 && w.kv.size >= 20)
  const rolls: Array<RollFigures> = []
  for (const [i, p] of procs.entries()) {
    const { proc, figures } = await roll(cluster, p, logFile, w)
    procs = procs.map((q, j) => (j === i ? proc : q))
    rolls.push(figures)
    say(`  rolled ${figures.id}: ${w.objects.size} objects and ${w.kv.size} KV keys acknowledged so far`)
  }
  await w.stop()
  const seconds = (now() - started) / 1000
  const t = now()
  const problems = [...w.failures, ...await verify(client, "upgrade", cluster.nodes, w)]
  say(`  verified in ${((now() - t) / 1000).toFixed(0)} s`)
  for (const n of cluster.nodes) if (!readFileSync(join(n.dataDir, "FORMAT"), "utf8").includes(`data-dir ${DATA_DIR_FORMAT}\n`)) problems.push(`${n.id}: no FORMAT record of format ${DATA_DIR_FORMAT}`)
  report(old, rolls, w, balancer, seconds)
  client.destroy()
  patient.destroy()
  await balancer.close()
  for (const p of procs) await stopNode(p)
  if (problems.length === 0) say(`  verified: every acknowledged object (${w.objects.size}) and KV value (${w.kv.size}) reads back as written; each data directory carries FORMAT`)
  return problems
}

const main = async () => {
  const ref = process.env.CAIRN_UPGRADE_FROM ?? "main~5"
  say(`building the old version (${ref}) in a worktree...`)
  const t0 = now()
  const old = buildOld(ref)
  say(`  built in ${((now() - t0) / 1000).toFixed(0)} s`)
  const dataRoot = mkdtempSync(join(tmpdir(), "cairn-upgrade-data-"))
  // Given up, or interrupted: stop every node's group and remove the worktree before exiting.
  const abandon = (why: string) => {
    say(`rolling upgrade: ${why}; the nodes' log is in ${join(dataRoot, "cluster.log")}`)
    void killAllStarted().finally(() => {
      old.remove()
      process.exit(1)
    })
  }
  // CAIRN_UPGRADE_TIMEOUT_S: a loaded machine (this one runs simulation campaigns) needs longer than the default.
  const limitS = Number(process.env.CAIRN_UPGRADE_TIMEOUT_S ?? 600)
  const watchdog = setTimeout(() => abandon(`gave up after ${limitS} s`), limitS * 1000)
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => abandon(`interrupted by ${signal}`))
  let problems: Array<string> = []
  try {
    problems = await run(old, dataRoot)
  } catch (e) {
    problems = [`the run failed: ${(e as Error).stack ?? String(e)}`]
  } finally {
    clearTimeout(watchdog)
    await killAllStarted()
    old.remove()
    if (problems.length === 0 || !existsSync(join(dataRoot, "cluster.log"))) rmSync(dataRoot, { recursive: true, force: true })
  }
  if (problems.length > 0) {
    say(`FAILED (${problems.length}); the nodes' log is in ${join(dataRoot, "cluster.log")}:`)
    for (const p of problems.slice(0, 30)) say(`  ${p}`)
    process.exit(1)
  }
  say("PASSED")
}

await main()

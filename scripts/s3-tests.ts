/**
 * `npm run s3-tests`: ceph's S3 conformance suite (s3-tests) against one
 * real `cairn server`, with a floor that only rises.
 *
 * It starts one server on OS-chosen ports with a fresh data directory,
 * creates the suite's three users (main, alt, tenant) through the admin
 * endpoint, writes the suite's configuration from the shared template, runs
 * the core subset (/work/shared/S3-TESTS.md) in a temporary copy of the
 * suite, prints the counts and the failing tests, saves a JSON summary to
 * `reports/s3-tests-latest.json`, and fails when fewer tests pass than the
 * committed floor (`scripts/s3-tests-floor.json`). Where the suite is not
 * next to the checkout (`../shared/s3-tests`, or S3_TESTS_DIR) it says
 * "skipped" and exits 0: the suite is a measuring tool, not part of Cairn.
 */
import { spawn, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { parseJunit, type SuiteCounts } from "./s3-tests-junit.ts"
import { startDetachedServer, type DetachedServer } from "./s3-tests-server.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const suiteDir = resolve(process.env["S3_TESTS_DIR"] ?? join(root, "..", "shared", "s3-tests"))
const templatePath = resolve(process.env["S3_TESTS_CONF_TEMPLATE"] ?? join(suiteDir, "..", "s3-tests.conf.in"))
const floorPath = join(root, "scripts", "s3-tests-floor.json")
/** How far below the last count the floor sits (docs/s3.md, Conformance). */
const FLOOR_MARGIN = 2
const reportDir = join(root, "reports")

/** The core subset: the markers and -k expression of S3-TESTS.md. */
const MARKERS = [
  "fails_on_aws", "fails_on_rgw", "bucket_logging", "bucket_logging_cleanup", "fails_without_logging_rollover", "lifecycle",
  "lifecycle_expiration", "lifecycle_transition", "cloud_transition", "cloud_restore", "encryption", "sse_s3", "bucket_encryption",
  "iam_user", "iam_account", "target_by_bucket", "bucket_policy"
].map((m) => `not ${m}`).join(" and ")
const KEYWORDS = "not acl and not object_lock and not post_object and not torrent"
// Debian's python3, where the apt packages put the suite's modules (a pyenv shim earlier on PATH would lack them).
const PYTHON = process.env["S3_TESTS_PYTHON"] ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3")
/** A run past this is stuck, not slow: pytest is stopped and the run fails (S3_TESTS_TIMEOUT_S overrides). */
const TIMEOUT_S = Number(process.env["S3_TESTS_TIMEOUT_S"] ?? 1800)
const PYTHON_MODULES = ["pytest", "boto3", "isodate", "lxml", "httplib2", "requests", "pytz", "munch", "gevent", "yaml"]

interface User { readonly user: string; readonly accessKey: string; readonly secretKey: string }

const createUser = async (server: DetachedServer, name: string): Promise<User> => {
  const res = await fetch(`${server.api}/v1/admin/s3/users`, {
    method: "POST",
    headers: { authorization: server.adminAuth, "content-type": "application/json" },
    body: JSON.stringify({ user: name })
  })
  const body = await res.json() as Partial<User>
  if (!res.ok || body.accessKey === undefined || body.secretKey === undefined) throw new Error(`creating S3 user ${name}: ${res.status} ${JSON.stringify(body)}`)
  return { user: body.user ?? name, accessKey: body.accessKey, secretKey: body.secretKey }
}

const writeConfig = (path: string, port: number, users: Record<"MAIN" | "ALT" | "TEN", User>): void => {
  let text = readFileSync(templatePath, "utf8").replaceAll("@PORT@", String(port))
  for (const [tag, u] of Object.entries(users)) {
    text = text.replaceAll(`@${tag}_ID@`, u.user).replaceAll(`@${tag}_AK@`, u.accessKey).replaceAll(`@${tag}_SK@`, u.secretKey)
  }
  writeFileSync(path, text)
}

/** Runs pytest on the core subset; resolves with its exit code (1 just means some tests failed). */
const runPytest = (work: string, conf: string, junit: string, extra: ReadonlyArray<string>): Promise<number> =>
  new Promise((resolveRun, reject) => {
    const args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "s3tests/functional/test_s3.py", "-m", MARKERS, "-k", KEYWORDS, `--junitxml=${junit}`, ...extra]
    const child = spawn(PYTHON, args, { cwd: work, env: { ...process.env, S3TEST_CONF: conf }, stdio: ["ignore", "pipe", "inherit"] })
    const timer = setTimeout(() => {
      process.stderr.write(`s3-tests: pytest still running after ${TIMEOUT_S} s; stopping it\n`)
      child.kill("SIGKILL")
    }, TIMEOUT_S * 1000)
    // pytest's per-test dots are noise next to our summary; keep its last lines for a crash's sake.
    let tail = ""
    child.stdout.on("data", (chunk: Buffer) => { tail = (tail + chunk.toString()).slice(-4000) })
    child.on("error", reject)
    child.on("exit", (code) => {
      clearTimeout(timer)
      if (code !== 0 && code !== 1) process.stderr.write(tail)
      resolveRun(code ?? 2)
    })
  })

const readFloor = (): number => (JSON.parse(readFileSync(floorPath, "utf8")) as { passed: number }).passed

const report = (counts: SuiteCounts, floor: number, seconds: number, partial: boolean, junitPath: string): void => {
  mkdirSync(reportDir, { recursive: true })
  console.log(`s3-tests core subset: ${counts.passed} passed, ${counts.failed} failed, ${counts.errors} errors, ${counts.skipped} skipped of ${counts.total} (${seconds.toFixed(0)} s)`)
  for (const t of counts.failing) console.log(`  ${t.outcome.padEnd(7)} ${t.name}: ${t.message}`)
  const summary = { suite: "ceph/s3-tests core subset", floor, seconds: Math.round(seconds), ...counts }
  // A part of the subset (extra pytest arguments) must not pass for the whole run's summary.
  const name = partial ? "s3-tests-partial" : "s3-tests-latest"
  writeFileSync(join(reportDir, `${name}.json`), JSON.stringify(summary, null, 2) + "\n")
  cpSync(junitPath, join(reportDir, `${name}-junit.xml`))
  console.log(`summary saved to reports/${name}.json (pytest's own report: reports/${name}-junit.xml)`)
}

const main = async (): Promise<number> => {
  if (!existsSync(join(suiteDir, "s3tests", "functional", "test_s3.py")) || !existsSync(templatePath)) {
    console.log(`s3-tests: skipped (no suite at ${suiteDir} or no template at ${templatePath}; set S3_TESTS_DIR to run it)`)
    return 0
  }
  const probe = spawnSync(PYTHON, ["-I", "-c", `import ${PYTHON_MODULES.join(", ")}`], { encoding: "utf8" })
  if (probe.status !== 0) {
    console.error(`s3-tests: ${PYTHON} lacks the suite's modules (${PYTHON_MODULES.join(" ")}): ${probe.stderr ?? probe.error?.message}`)
    return 1
  }
  const floor = readFloor()
  const work = mkdtempSync(join(tmpdir(), "cairn-s3-tests-"))
  const server = await startDetachedServer()
  const started = performance.now()
  try {
    const users = { MAIN: await createUser(server, "main"), ALT: await createUser(server, "alt"), TEN: await createUser(server, "tenant") }
    cpSync(suiteDir, join(work, "suite"), { recursive: true })
    const conf = join(work, "s3tests.conf")
    writeConfig(conf, server.s3Port, users)
    const junit = join(work, "junit.xml")
    const code = await runPytest(join(work, "suite"), conf, junit, process.argv.slice(2))
    if (!existsSync(junit)) throw new Error(`pytest (exit ${code}) wrote no ${junit}`)
    const counts = parseJunit(readFileSync(junit, "utf8"))
    const partial = process.argv.length > 2
    report(counts, floor, (performance.now() - started) / 1000, partial, junit)
    if (partial) {
      // Extra pytest arguments (say `-k test_x`) select a part of the subset: no floor applies to a part.
      console.log("s3-tests: extra pytest arguments given, so the floor is not checked")
      return 0
    }
    if (counts.passed < floor) {
      console.error(`s3-tests: FAIL, ${counts.passed} passed is below the floor of ${floor} (scripts/s3-tests-floor.json)`)
      return 1
    }
    // The floor sits FLOOR_MARGIN below the count, so that one timeout on a loaded machine does not fail CI.
    if (counts.passed - FLOOR_MARGIN > floor) console.log(`s3-tests: ${counts.passed} beats the floor of ${floor}: raise "passed" in scripts/s3-tests-floor.json to ${counts.passed - FLOOR_MARGIN}`)
    else console.log(`s3-tests: at or above the floor (${counts.passed} passed, floor ${floor})`)
    return 0
  } finally {
    await server.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

process.exitCode = await main()

/**
 * Running podman, podman-compose and other programs from the container
 * test (test-containers.ts): synchronous calls with their output kept, a
 * typed error naming the command when one fails, and the containers.conf
 * this kind of machine needs (docs/deploy.md, "Machines like this one").
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Data } from "effect"

export class CommandFailed extends Data.TaggedError("CommandFailed")<{
  readonly message: string
}> {}

export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `command args` to completion (stdin closed), within `timeoutMs`. */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string | undefined>; readonly timeoutMs?: number; readonly cwd?: string } = {}
): Ran => {
  const r = spawnSync(command, args, {
    encoding: "utf8",
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd })
  })
  if (r.error !== undefined) return { code: -1, stdout: r.stdout ?? "", stderr: `${r.stderr ?? ""}${r.error.message}` }
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr }
}

/** Like `run`, but a non-zero exit is a CommandFailed with the command and the end of its output. */
export const must = (command: string, args: ReadonlyArray<string>, options: Parameters<typeof run>[2] = {}): Ran => {
  const r = run(command, args, options)
  if (r.code !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-15).join("\n")
    throw new CommandFailed({ message: `${command} ${args.join(" ")} exited ${r.code}:\n${tail}` })
  }
  return r
}

/** Whether `name` is a program on PATH. */
export const onPath = (name: string): boolean => run("sh", ["-c", `command -v ${name}`]).code === 0

/**
 * A containers.conf for VMs that refuse to raise RLIMIT_NOFILE/NPROC and run cgroups in hybrid mode (crun fails
 * there): no default ulimits, runc, cgroupfs. On a machine where podman works as it comes, these are harmless.
 */
export const quirkFreeContainersConf = (): string => {
  const path = join(mkdtempSync(join(tmpdir(), "cairn-containers-")), "containers.conf")
  writeFileSync(path, '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n')
  return path
}

/** One container of a podman-compose project, by its service name. */
export interface ComposeContainer {
  readonly name: string
  readonly service: string
  readonly state: string
}

export const composeContainers = (project: string): Array<ComposeContainer> => {
  const r = must("podman", ["ps", "-a", "--filter", `label=com.docker.compose.project=${project}`, "--format", "json"])
  const rows = JSON.parse(r.stdout === "" ? "[]" : r.stdout) as Array<{ Names: Array<string>; Labels: Record<string, string> | null; State: string }>
  return rows.map((row) => ({ name: row.Names[0]!, service: row.Labels?.["com.docker.compose.service"] ?? "", state: row.State }))
}

/**
 * Running an outside S3 client (the AWS CLI, boto3, rclone, restic, s3cmd)
 * as a child process for the real-client tests: its exit code and output,
 * never a throw, so each test decides what a failure means and can show the
 * client's own words.
 */
import { execFile } from "node:child_process"

export interface Ran {
  readonly code: number
  readonly stdout: string
  /** stdout as bytes (for clients that print object data). */
  readonly stdoutBytes: Buffer
  readonly stderr: string
}

const MiB = 1024 * 1024

/** Runs `file args` with exactly `env` (nothing inherited); a client that hangs is killed after 90 s. */
export const runClient = (file: string, args: ReadonlyArray<string>, env: Record<string, string>): Promise<Ran> =>
  new Promise((resolve) => {
    execFile(file, args, { env, maxBuffer: 16 * MiB, timeout: 90_000, encoding: "buffer" }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1
      const err = stderr.toString("utf8")
      resolve({ code, stdout: stdout.toString("utf8"), stdoutBytes: stdout, stderr: error !== null && code === -1 ? `${err}${error.message}` : err })
    })
  })

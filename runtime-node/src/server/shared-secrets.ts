/**
 * Secrets shared by the nodes of a cluster that run on one host (the compose
 * cluster, docs/deploy.md): the cluster secret and the initial admin
 * credentials, in one `cairn server --config` file (`clusterSecret`,
 * `accessKey`, `secretKey`) that every node reads.
 *
 * The first node to start generates the file; every other node, and every
 * later start, reads it. Several nodes may start at once, so the file is
 * created without a race: each writes a complete private temp file (mode
 * 0600, fsynced) and hard-links it to the final name; the link is atomic
 * and fails if the name exists, so exactly one node's secrets win and
 * nobody ever reads a half-written file.
 */
import { Data } from "effect"
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { dirname } from "node:path"
import { rawFromFile, ServerConfigError } from "./config.ts"
import { newClusterSecret, newCredentials } from "./secrets.ts"

export class SharedSecretsError extends Data.TaggedError("SharedSecretsError")<{
  readonly message: string
}> {}

export interface SharedSecrets {
  readonly clusterSecret: string
  readonly accessKey: string
  readonly secretKey: string
  /** This call created the file (its caller shows the credentials, once). */
  readonly generated: boolean
}

const syncPath = (path: string): void => {
  const fd = openSync(path, "r")
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Reads an existing file: a valid `cairn server` config file holding all three secrets. */
const readShared = (path: string): SharedSecrets | SharedSecretsError => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (e) {
    return new SharedSecretsError({ message: `${path}: cannot read it (${(e as Error).message})` })
  }
  const raw = rawFromFile(path, text)
  if (raw instanceof ServerConfigError) return new SharedSecretsError({ message: raw.message })
  const missing = (["clusterSecret", "accessKey", "secretKey"] as const).filter((k) => raw[k] === undefined)
  if (missing.length > 0) return new SharedSecretsError({ message: `${path}: lacks ${missing.join(", ")} (delete it to generate new secrets)` })
  return { clusterSecret: raw.clusterSecret!.value, accessKey: raw.accessKey!.value, secretKey: raw.secretKey!.value, generated: false }
}

/** The shared secrets at `path`, generating them if the file does not exist yet. */
export const sharedSecrets = (path: string): SharedSecrets | SharedSecretsError => {
  const secrets = { clusterSecret: newClusterSecret(), ...newCredentials() }
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`
  try {
    mkdirSync(dirname(path), { recursive: true })
    const fd = openSync(tmp, "wx", 0o600)
    try {
      writeSync(fd, `${JSON.stringify(secrets, null, 2)}\n`)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch (e) {
    return new SharedSecretsError({ message: `cannot write ${tmp}: ${(e as Error).message}` })
  }
  try {
    linkSync(tmp, path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return readShared(path)
    return new SharedSecretsError({ message: `cannot create ${path}: ${(e as Error).message}` })
  } finally {
    unlinkSync(tmp)
  }
  syncPath(dirname(path))
  return { ...secrets, generated: true }
}

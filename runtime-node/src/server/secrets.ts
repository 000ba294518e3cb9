/**
 * Secrets kept in the data directory when the operator gave none: the
 * cluster secret of a single node (`cluster-secret`) and the initial admin
 * credentials (`admin-credentials.json`). Written once (temp file, fsync,
 * rename, directory fsync; mode 0600) and reused on every later start, so a
 * restart keeps the same credentials.
 */
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { writeDurably } from "./durable-file.ts"

export interface AdminCredentials {
  readonly accessKey: string
  readonly secretKey: string
}

/** A fresh cluster secret: 32 random bytes, base64url. */
export const newClusterSecret = (): string => randomBytes(32).toString("base64url")

/** Fresh admin credentials. */
export const newCredentials = (): AdminCredentials => ({
  accessKey: `CAIRN${randomBytes(10).toString("hex").toUpperCase()}`,
  secretKey: randomBytes(30).toString("base64url")
})

/** The stored cluster secret, generating it on first use. */
export const storedClusterSecret = (dataDir: string): { readonly secret: string; readonly generated: boolean } => {
  const path = join(dataDir, "cluster-secret")
  if (existsSync(path)) return { secret: readFileSync(path, "utf8").trim(), generated: false }
  const secret = newClusterSecret()
  writeDurably(dataDir, "cluster-secret", `${secret}\n`)
  return { secret, generated: true }
}

export const credentialsFile = (dataDir: string): string => join(dataDir, "admin-credentials.json")

export const readCredentials = (path: string): AdminCredentials | undefined => {
  if (!existsSync(path)) return undefined
  const json = JSON.parse(readFileSync(path, "utf8")) as Partial<AdminCredentials>
  if (typeof json.accessKey !== "string" || typeof json.secretKey !== "string") throw new Error(`${path}: expected {"accessKey", "secretKey"}`)
  return { accessKey: json.accessKey, secretKey: json.secretKey }
}

export const writeCredentials = (dir: string, name: string, credentials: AdminCredentials): void =>
  writeDurably(dir, name, `${JSON.stringify(credentials, null, 2)}\n`)

/** The stored admin credentials, generating them on first use. */
export const storedCredentials = (dataDir: string): AdminCredentials & { readonly generated: boolean } => {
  const existing = readCredentials(credentialsFile(dataDir))
  if (existing !== undefined) return { ...existing, generated: false }
  const credentials = newCredentials()
  writeCredentials(dataDir, "admin-credentials.json", credentials)
  return { ...credentials, generated: true }
}

/**
 * The data directory's format record, `DATA/FORMAT`: which version of the
 * data-directory layout, and of each on-disk format inside it, wrote the
 * directory. Checked at every start, before anything else reads the data:
 *
 * - no FORMAT and no data (`raft/`, `shards/`): a fresh directory; the
 *   current versions are recorded;
 * - no FORMAT but data: written before FORMAT existed, which is version 1
 *   (the formats have not changed since); recorded as version 1;
 * - an older known version: read as it is (or, where the table below names
 *   an offline step, refused naming that step), then recorded as the
 *   current version, since this build writes its own formats from now on;
 * - a newer version (of the directory or of any component), a component
 *   this build does not know, or a damaged record: refused, exit 2.
 *
 * Why a separate record: core's files carry magics and versions, but an
 * unknown version there reads as damage (a WAL superblock or snapshot of
 * another version is "invalid" and may be repaired away), so a newer
 * directory must be stopped before core opens it. The rule for bumping the
 * versions is in docs/upgrades.md.
 *
 * The file is text, one `name version` per line, closed by the CRC32C of
 * every byte before the `crc32c` line; it is replaced atomically.
 */
import { crc32c } from "@cairn/core/checksum/crc32c"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { dataDirError, DataDirError } from "./data-dir-error.ts"
import { writeDurably } from "./durable-file.ts"

export const FORMAT_FILE = "FORMAT"

/** The data-directory format this build writes. Bump it whenever any component below changes. */
export const DATA_DIR_FORMAT = 2

/** The version of each on-disk format inside the directory, as this build writes it (docs/upgrades.md). */
export const COMPONENT_FORMATS: Readonly<Record<string, number>> = {
  "wal": 1, // core/src/wal/format.ts: record magic "CWR1", superblock version
  "raft-hard-state": 1, // core/src/raft/hard-state-file.ts: magic "RHDS", no version field of its own
  "snapshot": 1, // core/src/snapshot/snapshot-store.ts: "CSN1", version 1
  "kv-snapshot": 1, // core/src/kv/state-machine.ts: "CKVS", version 1
  "shard": 1, // core/src/shard-store/shard-store.ts: "CSH1", version 1
  "object-meta": 2 // core/src/object/metadata.ts: "COBJ", version 2 for degraded bodies, 1 otherwise (stored in the KV)
}

/**
 * Older data-directory versions this build can open: `undefined` reads it as
 * it is; a string is the offline step to run first. Version 1 is the first.
 */
const OLDER_VERSIONS: ReadonlyMap<number, string | undefined> = new Map([
  // Version 1 differs only in object records without missing-shard lists, which this build reads as they are.
  [1, undefined]
])

export interface FormatRecord {
  readonly dataDir: number
  readonly components: Readonly<Record<string, number>>
}

/** What the start found, and whether FORMAT must be (re)written once the directory is known to be usable. */
export interface FormatVerdict {
  readonly found: "fresh" | "before-format-file" | "current" | "older"
  /** The data-directory version found (the current one for a fresh directory). */
  readonly version: number
  readonly write: boolean
}

const HEADER = "# Cairn data directory format; see docs/upgrades.md. Written by cairn, do not edit.\n"

/** The FORMAT file's text for `record`. */
export const encodeFormat = (record: FormatRecord): string => {
  const lines = [`data-dir ${record.dataDir}`, ...Object.entries(record.components).map(([name, v]) => `${name} ${v}`)]
  const body = HEADER + lines.map((l) => `${l}\n`).join("")
  return `${body}crc32c ${crc32c(new TextEncoder().encode(body)).toString(16).padStart(8, "0")}\n`
}

/** Parses FORMAT's text; a string says why it is not a valid record. */
export const decodeFormat = (text: string): FormatRecord | string => {
  const at = text.lastIndexOf("crc32c ")
  if (at < 0 || (at > 0 && text[at - 1] !== "\n")) return "no checksum line"
  const body = text.slice(0, at)
  const stored = text.slice(at + "crc32c ".length).trim()
  if (!/^[0-9a-f]{8}$/.test(stored)) return `bad checksum line ${JSON.stringify(stored)}`
  if (crc32c(new TextEncoder().encode(body)) !== parseInt(stored, 16)) return "checksum mismatch"
  const components: Record<string, number> = {}
  let dataDir: number | undefined
  for (const line of body.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const m = /^([a-z][a-z0-9-]*) ([1-9][0-9]{0,8})$/.exec(line)
    if (m === null) return `bad line ${JSON.stringify(line)}`
    if (m[1] === "data-dir") dataDir = Number(m[2])
    else components[m[1]!] = Number(m[2])
  }
  if (dataDir === undefined) return "no data-dir line"
  return { dataDir, components }
}

/** The current record: what this build writes. */
export const currentFormat: FormatRecord = { dataDir: DATA_DIR_FORMAT, components: COMPONENT_FORMATS }

const refuse = (dir: string, why: string) => new DataDirError({ message: `data directory ${dir}: ${why}`, exitCode: 2 })

/** Why this build cannot open a directory whose FORMAT says `record`, or undefined if it can. */
const refusal = (dir: string, record: FormatRecord): DataDirError | undefined => {
  const newer = "run a build that knows it (downgrades are not supported; docs/upgrades.md)"
  if (record.dataDir > DATA_DIR_FORMAT) {
    return refuse(dir, `written by a newer Cairn (data-directory format ${record.dataDir}; this build reads ${DATA_DIR_FORMAT} and older): ${newer}`)
  }
  for (const [name, v] of Object.entries(record.components)) {
    const known = COMPONENT_FORMATS[name]
    if (known === undefined) return refuse(dir, `written by a newer Cairn (its FORMAT names a component this build does not know: ${name} ${v}): ${newer}`)
    if (v > known) return refuse(dir, `written by a newer Cairn (${name} format ${v}; this build reads ${known}): ${newer}`)
  }
  if (record.dataDir < DATA_DIR_FORMAT) {
    if (!OLDER_VERSIONS.has(record.dataDir)) return refuse(dir, `data-directory format ${record.dataDir} is too old for this build (it reads ${[...OLDER_VERSIONS.keys(), DATA_DIR_FORMAT].join(", ")}): upgrade through an intermediate release (docs/upgrades.md)`)
    const step = OLDER_VERSIONS.get(record.dataDir)
    if (step !== undefined) return refuse(dir, `data-directory format ${record.dataDir} needs an offline step before this build opens it: ${step}`)
  }
  return undefined
}

/** Whether the directory holds data written by some Cairn (the Raft log or shards). */
const holdsData = (dir: string): boolean => existsSync(join(dir, "raft")) || existsSync(join(dir, "shards"))

/**
 * Reads FORMAT (nothing is written here) and decides whether this build may
 * open the directory. Call `recordFormat` with the verdict once the
 * directory is known to be writable.
 */
export const inspectFormat = (dir: string): Effect.Effect<FormatVerdict, DataDirError> =>
  Effect.gen(function*() {
    const path = join(dir, FORMAT_FILE)
    if (!existsSync(path)) {
      return holdsData(dir) ? { found: "before-format-file", version: 1, write: true } : { found: "fresh", version: DATA_DIR_FORMAT, write: true }
    }
    const text = yield* Effect.try({ try: () => readFileSync(path, "utf8"), catch: (e) => dataDirError(dir, `cannot read ${FORMAT_FILE}`, e) })
    const record = decodeFormat(text)
    if (typeof record === "string") {
      return yield* refuse(dir, `its ${FORMAT_FILE} file is damaged (${record}); Cairn will not guess which format the data is in: put back the file (docs/upgrades.md shows it) or restore from a backup`)
    }
    const refused = refusal(dir, record)
    if (refused !== undefined) return yield* refused
    const current = record.dataDir === DATA_DIR_FORMAT && encodeFormat(record) === encodeFormat(currentFormat)
    return { found: record.dataDir === DATA_DIR_FORMAT ? "current" : "older", version: record.dataDir, write: !current }
  })

/** Writes the current FORMAT when the verdict asks for it (atomically: old or new, never torn). */
export const recordFormat = (dir: string, verdict: FormatVerdict): Effect.Effect<void, DataDirError> =>
  verdict.write
    ? Effect.try({ try: () => writeDurably(dir, FORMAT_FILE, encodeFormat(currentFormat)), catch: (e) => dataDirError(dir, `cannot write ${FORMAT_FILE}`, e) })
    : Effect.void

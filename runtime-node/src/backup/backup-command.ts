/**
 * `cairn admin backup --out FILE` and `cairn admin restore --from FILE`:
 * the cluster's metadata (the whole KV store at one Raft index: object
 * catalogue, buckets, S3 users, erasure scheme) to a file and back, through
 * `/v1/admin/backup` and `/v1/admin/restore` (backup-routes.ts), with the
 * admin credentials as `cairn cluster` takes them. Backup writes FILE only
 * once the whole answer is in and checks out (temp file, fsync, rename);
 * restore checks FILE before sending anything, so a damaged or newer file
 * is refused here with one line and exit 2. docs/backup.md says what a
 * restore brings back and what it cannot.
 */
import { Console, Data, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { readFileSync } from "node:fs"
import { basename, dirname, resolve } from "node:path"
import { common, send } from "../cli/cluster-command.ts"
import { writeDurably } from "../server/durable-file.ts"
import { decodeBackup } from "./backup-file.ts"
import { BACKUP_PATH, RESTORE_PATH } from "./backup-routes.ts"

/** A backup file that cannot be read or written here; exit 2 when the file itself is the problem. */
export class BackupCommandError extends Data.TaggedError("BackupCommandError")<{ readonly message: string; readonly exitCode: 1 | 2 }> {}

/** `send`, its failures said as `cairn admin`'s. */
const sendAs = (...args: Parameters<typeof send>) => send(...args).pipe(Effect.mapError((e) => new BackupCommandError({ message: e.message, exitCode: 1 })))

const backup = Command.make("backup", { ...common, out: Flag.String("out").pipe(Flag.withDescription("the file to write the backup to (replaced atomically)")) }, (flags) =>
  Effect.gen(function*() {
    const answer = yield* sendAs(flags, "GET", BACKUP_PATH)
    const decoded = decodeBackup(answer.bytes)
    if (!("entries" in decoded)) return yield* new BackupCommandError({ message: `the node sent a backup that does not check out: ${decoded.message}`, exitCode: 1 })
    const out = resolve(flags.out)
    yield* Effect.try({
      try: () => writeDurably(dirname(out), basename(out), answer.bytes),
      catch: (e) => new BackupCommandError({ message: `cannot write ${out}: ${(e as Error).message}`, exitCode: 1 })
    })
    const { header } = decoded
    yield* Console.log(JSON.stringify({ file: out, bytes: answer.bytes.length, keys: header.keys, appliedIndex: header.appliedIndex, term: header.term, node: header.node, createdAt: header.createdAt }))
  })
).pipe(Command.withDescription("write the cluster's metadata (every KV key at one Raft index: object catalogue, buckets, S3 users) to a file"))

const restore = Command.make("restore", { ...common, from: Flag.String("from").pipe(Flag.withDescription("a file written by `cairn admin backup`")) }, (flags) =>
  Effect.gen(function*() {
    const bytes = yield* Effect.try({
      try: () => new Uint8Array(readFileSync(flags.from)),
      catch: (e) => new BackupCommandError({ message: `cannot read ${flags.from}: ${(e as Error).message}`, exitCode: 2 })
    })
    const decoded = decodeBackup(bytes)
    if (!("entries" in decoded)) return yield* new BackupCommandError({ message: `${flags.from}: ${decoded.message}`, exitCode: 2 })
    const answer = yield* sendAs(flags, "POST", RESTORE_PATH, { bytes, contentType: "application/octet-stream" })
    yield* Console.log(new TextDecoder().decode(answer.bytes).trim())
  })
).pipe(Command.withDescription("write a backup's keys into a fresh cluster (metadata only: objects read back where their shards survive; docs/backup.md)"))

export const backupCommands = [backup, restore] as const

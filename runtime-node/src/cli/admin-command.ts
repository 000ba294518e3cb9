/**
 * `cairn admin backup|restore`: the cluster's metadata (../backup/).
 * `cairn admin user add NAME | list | revoke ACCESS_KEY`: S3 users and their
 * access keys on a running cluster, through the admin endpoint
 * `/v1/admin/s3/users` (HTTP Basic with the admin credentials, as `cairn
 * cluster` uses). `add` prints the new key pair; the secret is shown only
 * then.
 */
import { Console, Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { backupCommands } from "../backup/backup-command.ts"
import { call, common } from "./cluster-command.ts"

const add = Command.make("add", { ...common, name: Argument.String("name").pipe(Argument.withDescription("the user's name")) }, (flags) =>
  Effect.gen(function*() {
    const created = yield* call(flags, "POST", "/v1/admin/s3/users", { user: flags.name })
    yield* Console.log(JSON.stringify(created, null, 2))
  })
).pipe(Command.withDescription("create an S3 access key for a user (a new user, or another key for an existing one); the secret is printed once"))

const list = Command.make("list", common, (flags) => Effect.flatMap(call(flags, "GET", "/v1/admin/s3/users"), (r) => Console.log(JSON.stringify(r, null, 2)))).pipe(
  Command.withDescription("list the S3 access keys and their users (not the secrets)")
)

const revoke = Command.make("revoke", { ...common, key: Argument.String("access-key").pipe(Argument.withDescription("the access key to revoke")) }, (flags) =>
  Effect.flatMap(call(flags, "DELETE", `/v1/admin/s3/users/${encodeURIComponent(flags.key)}`), (r) => Console.log(JSON.stringify(r)))
).pipe(Command.withDescription("revoke an S3 access key at once, on every node"))

const user = Command.make("user").pipe(Command.withDescription("S3 users and access keys"), Command.withSubcommands([add, list, revoke]))

export const adminCommand = Command.make("admin").pipe(
  Command.withDescription("administer a running cluster: S3 users, metadata backup and restore"),
  Command.withSubcommands([user, ...backupCommands])
)

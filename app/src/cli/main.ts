/**
 * The `cairn` command line: the composition root. Each workspace exports the
 * subcommands of its capability (the simulator `sim`, the checker `check`,
 * the node `server`, `dev`, `cluster`, `admin`, `log`, `jepsen`); this is the one
 * module that imports them all, so that runtime-node never imports the
 * simulator and the simulator never imports runtime-node
 * (app/src/architecture/arrows.test.ts).
 *
 * The subcommands are imported lazily: `cairn server` loads the node and not
 * the simulator, the checker or jepsen (about 1,600 modules otherwise, and
 * their heap: docs/server.md, "Memory"; app/src/cli/loaded-modules.test.ts).
 */
import { layer as nodeServices } from "@effect/platform-node/NodeServices"
import { Console, Effect } from "effect"
import { CliConfig, Command, GlobalFlag } from "effect/cli"
import { runMain } from "./run-main.ts"

const version = "0.1.0"

/** Every subcommand, by name, in the order help lists them; each loads its module only when asked for. */
const subcommands = {
  sim: async () => (await import("@cairn/sim/cli/sim-command")).simCommand,
  check: async () => (await import("@cairn/jepsen/cli/check-command")).checkCommand,
  server: async () => (await import("@cairn/runtime-node/cli/server-command")).serverCommand,
  dev: async () => (await import("@cairn/runtime-node/cli/dev-command")).devCommand,
  cluster: async () => (await import("@cairn/runtime-node/cli/cluster-command")).clusterCommand,
  admin: async () => (await import("@cairn/runtime-node/cli/admin-command")).adminCommand,
  log: async () => (await import("@cairn/runtime-node/cli/log-command")).logCommand,
  jepsen: async () => (await import("@cairn/runtime-node/jepsen/jepsen-command")).jepsenCommand
} as const

type SubcommandName = keyof typeof subcommands
const isSubcommand = (word: string | undefined): word is SubcommandName => word !== undefined && Object.hasOwn(subcommands, word)

// The first argument names the subcommand when it is one; then only that one is loaded (its help and errors are the
// same: they are about it alone). Anything else (`cairn`, `cairn --help`, a typo) loads them all, so that the root's
// help lists every subcommand and a mistake is answered with the full choice.
const first = process.argv[2]
const chosen: ReadonlyArray<SubcommandName> = isSubcommand(first) ? [first] : (Object.keys(subcommands) as Array<SubcommandName>)
const loaded = await Promise.all(chosen.map((name) => subcommands[name]()))

const cairn = Command.make("cairn").pipe(
  Command.withDescription("Cairn: a storage core proven in a deterministic simulator"),
  Command.withSubcommands(loaded)
)

// effect/cli adds a built-in global --log-level (for Effect's own logger). `cairn server` has its own, which is the
// one that counts (a subcommand's flag wins over a global of the same name), so help listed --log-level twice with
// different choices. Without the built-in there is one flag; the server sets Effect's level from its own.
const builtIns = CliConfig.layer({ builtIns: GlobalFlag.BuiltIns.filter((flag) => flag !== GlobalFlag.LogLevel) })

const program = Command.run(cairn, { version }).pipe(
  Effect.catchTag("SimUsageError", (error) =>
    Effect.andThen(Console.error(`cairn sim: ${error.message}`), Effect.sync(() => {
      process.exitCode = 2
    }))
  ),
  Effect.catchTag("ServerConfigError", (error) =>
    Effect.andThen(Console.error(`cairn server: bad configuration:\n${error.message}`), Effect.sync(() => {
      process.exitCode = 2
    }))
  ),
  Effect.catchTag("ServerStartError", (error) =>
    Effect.andThen(Console.error(`cairn server: ${error.message}`), Effect.sync(() => {
      process.exitCode = error.exitCode
    }))
  ),
  Effect.catchTag("ClusterCommandError", (error) =>
    Effect.andThen(Console.error(`cairn cluster: ${error.message}`), Effect.sync(() => {
      process.exitCode = 1
    }))
  ),
  Effect.catchTag("LogCommandError", (error) =>
    Effect.andThen(Console.error(`cairn log: ${error.message}`), Effect.sync(() => {
      process.exitCode = error.exitCode
    }))
  ),
  Effect.catchTag("BackupCommandError", (error) =>
    Effect.andThen(Console.error(`cairn admin: ${error.message}`), Effect.sync(() => {
      process.exitCode = error.exitCode
    }))
  ),
  Effect.provide(builtIns),
  Effect.provide(nodeServices)
)

// SIGINT, SIGTERM and SIGHUP stop the command gracefully; the process then ends by that signal (run-main.ts).
runMain(program)

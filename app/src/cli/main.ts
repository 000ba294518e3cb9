/**
 * The `cairn` command line: the composition root. Each workspace exports the
 * subcommands of its capability (the simulator `sim`, the checker `check`,
 * the node `server`, `dev`, `cluster`, `admin`, `jepsen`); this is the one
 * module that imports them all, so that runtime-node never imports the
 * simulator and the simulator never imports runtime-node
 * (app/src/architecture/arrows.test.ts).
 */
import { NodeServices } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { CliConfig, Command, GlobalFlag } from "effect/cli"
import { simCommand } from "@cairn/sim/cli/sim-command"
import { checkCommand } from "@cairn/jepsen/cli/check-command"
import { adminCommand } from "@cairn/runtime-node/cli/admin-command"
import { clusterCommand } from "@cairn/runtime-node/cli/cluster-command"
import { devCommand } from "@cairn/runtime-node/cli/dev-command"
import { serverCommand } from "@cairn/runtime-node/cli/server-command"
import { jepsenCommand } from "@cairn/runtime-node/jepsen/jepsen-command"
import { runMain } from "./run-main.ts"

const version = "0.1.0"

const cairn = Command.make("cairn").pipe(
  Command.withDescription("Cairn: a storage core proven in a deterministic simulator"),
  Command.withSubcommands([simCommand, checkCommand, serverCommand, devCommand, clusterCommand, adminCommand, jepsenCommand])
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
  Effect.provide(builtIns),
  Effect.provide(NodeServices.layer)
)

// SIGINT, SIGTERM and SIGHUP stop the command gracefully; the process then ends by that signal (run-main.ts).
runMain(program)

/**
 * The `cairn` command line. Each capability adds its subcommand here.
 */
import { NodeServices } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { CliConfig, Command, GlobalFlag } from "effect/cli"
import { simCommand } from "@cairn/sim/cli/sim-command"
import { checkCommand } from "@cairn/jepsen/cli/check-command"
import { adminCommand } from "./admin-command.ts"
import { clusterCommand } from "./cluster-command.ts"
import { devCommand } from "./dev-command.ts"
import { jepsenCommand } from "../jepsen/jepsen-command.ts"
import { runMain } from "./run-main.ts"
import { serverCommand } from "./server-command.ts"

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

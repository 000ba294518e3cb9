/**
 * The CLI's main-fiber runner: `NodeRuntime.runMain` plus SIGHUP, and an
 * honest exit status. SIGINT, SIGTERM and SIGHUP each interrupt the main
 * fiber once (later signals, e.g. the copy a launcher forwards of a Ctrl-C
 * the terminal already delivered, change nothing); every finalizer runs
 * (for `cairn server`: the graceful shutdown in server.ts); then the
 * process dies by that same signal, so its parent sees what a shell shows
 * as 128+signal (130, 143, 129) and a supervisor such as systemd counts it
 * as a clean stop. Node resets SIGHUP to its default at start even under
 * `nohup`, so handling it here takes nothing away.
 */
import { Cause, Exit, Runtime } from "effect"
import { constants } from "node:os"

const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const
type Signal = (typeof signals)[number]

export const runMain = Runtime.makeRunMain(({ fiber, teardown }) => {
  let received: Signal | undefined
  const onSignal = (signal: Signal) => {
    if (received !== undefined) return
    received = signal
    fiber.interruptUnsafe(fiber.id)
  }
  for (const s of signals) process.on(s, onSignal)

  fiber.addObserver((exit) => {
    for (const s of signals) process.removeListener(s, onSignal)
    teardown(exit, (code) => {
      const interrupted = Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
      if (received !== undefined && interrupted) {
        // No listener is left, so the default action applies: the process ends by this signal.
        process.exitCode = 128 + constants.signals[received] // should it not
        process.kill(process.pid, received)
        return
      }
      if (received !== undefined || code !== 0) process.exit(code)
    })
  })
})

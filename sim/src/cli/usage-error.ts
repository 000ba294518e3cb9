/** A command-line mistake, reported with the fix and exit code 2. */
import { Data } from "effect"

export class SimUsageError extends Data.TaggedError("SimUsageError")<{ readonly message: string }> {}

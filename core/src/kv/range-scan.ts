/**
 * Every item of a key range, read through a `KvClient` page by page.
 *
 * The stores kept beside the KV (consumer groups, transactions, committed
 * offsets) list a whole prefix; each repeated the same paging loop. A page
 * ends the scan when it says there is no more or comes back empty; the next
 * page starts just after the last key seen.
 */
import { Effect } from "effect"
import { InvariantViolation } from "../invariant/invariant.ts"
import type { KvClient, KvUnavailableError } from "./client.ts"
import type { RangeItem } from "./command.ts"

/** Items per page: the range limit every store used. */
const PAGE_ITEMS = 1000

/** The items with `start` ≤ key < `end`, in key order (linearizable reads, the client's default). */
export const scanRange = (kv: KvClient, start: string, end: string): Effect.Effect<ReadonlyArray<RangeItem>, KvUnavailableError> =>
  Effect.gen(function*() {
    const items: Array<RangeItem> = []
    let from = start
    for (;;) {
      const page = yield* kv.read({ op: "range", start: from, end, limit: PAGE_ITEMS })
      if (page.type !== "range") return yield* Effect.die(new InvariantViolation(`a range read of ${JSON.stringify(start)} answered ${page.type}`))
      items.push(...page.items)
      const last = page.items[page.items.length - 1]
      if (!page.more || last === undefined) return items
      from = `${last.key}\u0000`
    }
  })

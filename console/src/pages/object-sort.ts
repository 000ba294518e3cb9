/**
 * Sorting the rows of one listing page. S3 lists keys by name only, so a
 * sort by size or date orders the page shown (up to 1000 keys, the page
 * size chosen), not the whole bucket; the page says so.
 */
import type { ObjectEntry } from "../api/s3.ts"

export type SortColumn = "name" | "size" | "modified"
export interface SortOrder {
  readonly by: SortColumn
  readonly descending: boolean
}

/** S3's own order: by name, ascending. */
export const NAME_ORDER: SortOrder = { by: "name", descending: false }

const byName = (a: ObjectEntry, b: ObjectEntry) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)

const compare: Record<SortColumn, (a: ObjectEntry, b: ObjectEntry) => number> = {
  name: byName,
  size: (a, b) => a.size - b.size,
  // ISO-8601 UTC times (S3's LastModified) order as strings.
  modified: (a, b) => (a.modified < b.modified ? -1 : a.modified > b.modified ? 1 : 0)
}

/** The rows in the order asked; ties keep name order, whichever way the column goes. */
export const sortObjects = (objects: ReadonlyArray<ObjectEntry>, order: SortOrder): ReadonlyArray<ObjectEntry> => {
  const sign = order.descending ? -1 : 1
  return [...objects].sort((a, b) => sign * compare[order.by](a, b) || byName(a, b))
}

/** Clicking a column: the same one flips its direction, another starts ascending (dates: newest first). */
export const nextOrder = (current: SortOrder, column: SortColumn): SortOrder =>
  current.by === column ? { by: column, descending: !current.descending } : { by: column, descending: column === "modified" }

export const ariaSort = (current: SortOrder, column: SortColumn): "ascending" | "descending" | "none" =>
  current.by !== column ? "none" : current.descending ? "descending" : "ascending"

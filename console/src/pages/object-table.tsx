/**
 * One page of a listing as a table: folders first (S3's common prefixes),
 * then objects in the order the column headers choose, each with a
 * checkbox for deleting many at once.
 */
import type { Listing } from "../api/s3.ts"
import { s3Path } from "../api/s3.ts"
import { formatBytes, formatTime } from "../format.ts"
import { href } from "../route.ts"
import { ariaSort, nextOrder, type SortColumn, type SortOrder, sortObjects } from "./object-sort.ts"

interface TableProps {
  readonly bucket: string
  /** The folder shown: names are shown relative to it. */
  readonly prefix: string
  readonly listing: Listing
  readonly order: SortOrder
  readonly onOrder: (order: SortOrder) => void
  readonly selected: ReadonlySet<string>
  readonly onToggle: (key: string) => void
  /** Shown when the page has no rows. */
  readonly empty: string
}

const SortHeader = ({ label, column, order, onOrder }: { readonly label: string; readonly column: SortColumn; readonly order: SortOrder; readonly onOrder: (o: SortOrder) => void }) => (
  <th scope="col" aria-sort={ariaSort(order, column)}>
    <button type="button" class="sort" onClick={() => onOrder(nextOrder(order, column))} title={`Sort by ${label.toLowerCase()}`}>
      {label} <span aria-hidden="true">{order.by !== column ? "↕" : order.descending ? "↓" : "↑"}</span>
    </button>
  </th>
)

export const ObjectTable = ({ bucket, prefix, listing, order, onOrder, selected, onToggle, empty }: TableProps) => (
  <div class="table-wrap">
    <table class="objects">
      <caption class="visually-hidden">Objects under {prefix === "" ? "the bucket's root" : prefix}</caption>
      <thead>
        <tr>
          <th scope="col"><span class="visually-hidden">Select</span></th>
          <SortHeader label="Name" column="name" order={order} onOrder={onOrder} />
          <SortHeader label="Size" column="size" order={order} onOrder={onOrder} />
          <SortHeader label="Modified" column="modified" order={order} onOrder={onOrder} />
          <th scope="col">Actions</th>
        </tr>
      </thead>
      <tbody>
        {listing.folders.map((f) => (
          <tr key={f} class="folder">
            <td></td>
            <th scope="row"><a href={href({ page: "objects", bucket, prefix: f })} aria-label={`Folder ${f.slice(prefix.length)}`}><span aria-hidden="true">📁 </span>{f.slice(prefix.length)}</a></th>
            <td>—</td><td>—</td><td></td>
          </tr>
        ))}
        {sortObjects(listing.objects, order).map((o) => {
          const name = o.key.slice(prefix.length)
          return (
            <tr key={o.key}>
              <td><input type="checkbox" checked={selected.has(o.key)} onChange={() => onToggle(o.key)} aria-label={`Select ${name}`} /></td>
              <th scope="row" class="key"><a href={href({ page: "object", bucket, key: o.key })} aria-label={name}>{name}</a></th>
              <td>{formatBytes(o.size)}</td>
              <td>{formatTime(o.modified)}</td>
              <td>
                <a href={s3Path(bucket, o.key)} download={name.split("/").pop()} aria-label={`Download ${name}`}>Download</a>{" · "}
                <a href={href({ page: "versions", bucket, key: o.key })} aria-label={`Versions of ${name}`}>Versions</a>
              </td>
            </tr>
          )
        })}
        {listing.folders.length === 0 && listing.objects.length === 0 ? <tr><td colSpan={5}>{empty}</td></tr> : null}
      </tbody>
    </table>
  </div>
)

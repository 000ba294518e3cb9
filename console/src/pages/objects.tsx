/**
 * One bucket, browsed by prefix: folders at each "/" (S3's delimiter) or
 * every key under a folder at once, a search box that narrows the listing
 * to keys starting with what is typed (S3's prefix, so it costs the same
 * on a bucket of millions), a page of 100, 250 or 1000 keys at a time (S3
 * continuation tokens; back goes to the previous page's token), sorting of
 * the page shown, upload, download, delete many at once, each key's
 * versions, on request the keys deleted (a delete marker newest) with
 * their restore, and the bucket's settings (tags, CORS).
 */
import { useEffect, useState } from "preact/hooks"
import { deleteObjects, type Listing, listObjects } from "../api/s3.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"
import { href } from "../route.ts"
import { BucketSettings } from "./bucket-settings.tsx"
import { DeletedKeys } from "./deleted-keys.tsx"
import { DropZone } from "./drop-zone.tsx"
import { NAME_ORDER, type SortOrder } from "./object-sort.ts"
import { ObjectTable } from "./object-table.tsx"

const PAGE_SIZES = [100, 250, 1000] as const

interface Place {
  readonly bucket: string
  readonly prefix: string
  readonly search: string
  readonly flat: boolean
  readonly deleted: boolean
  readonly settings: boolean
}

const Breadcrumbs = ({ bucket, prefix }: { readonly bucket: string; readonly prefix: string }) => {
  const parts = prefix.split("/").filter((p) => p !== "")
  return (
    <nav aria-label="Folder" class="breadcrumbs">
      <a href={href({ page: "buckets" })}>Buckets</a> / <a href={href({ page: "objects", bucket, prefix: "" })}>{bucket}</a>
      {parts.map((p, i) => (
        <span key={i}> / <a href={href({ page: "objects", bucket, prefix: parts.slice(0, i + 1).join("/") + "/" })}>{p}</a></span>
      ))}
    </nav>
  )
}

/** The search box and the folder/flat switch; both live in the URL, so a reload or a link keeps them. */
const Filters = ({ place }: { readonly place: Place }) => {
  const [typed, setTyped] = useState(place.search)
  useEffect(() => setTyped(place.search), [place.search])
  const go = (change: Partial<Place>) => void (location.hash = href({ page: "objects", ...place, ...change }))
  return (
    <form class="inline filters" role="search" onSubmit={(e) => { e.preventDefault(); go({ search: typed }) }}>
      <label for="search-prefix">Keys starting with</label>
      <span class="typed-prefix">{place.prefix}</span>
      <input id="search-prefix" type="search" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} placeholder="e.g. 2026-" />
      <button type="submit">Search</button>
      {place.search === "" ? null : <button type="button" onClick={() => go({ search: "" })}>Clear search</button>}
      <label class="check">
        <input type="checkbox" checked={place.flat} onChange={(e) => go({ flat: e.currentTarget.checked })} /> Every key under this folder (no folders)
      </label>
      <label class="check">
        <input type="checkbox" checked={place.deleted} onChange={(e) => go({ deleted: e.currentTarget.checked })} /> Show deleted keys
      </label>
    </form>
  )
}

const Pager = ({ page, hasNext, pageSize, onPage, onSize }: {
  readonly page: number
  readonly hasNext: boolean
  readonly pageSize: number
  readonly onPage: (to: number) => void
  readonly onSize: (size: number) => void
}) => (
  <span class="pager">
    <button type="button" disabled={page === 0} onClick={() => onPage(page - 1)}>Previous page</button>
    <span>Page {page + 1}</span>
    <button type="button" disabled={!hasNext} onClick={() => onPage(page + 1)}>Next page</button>
    <label>
      <span class="visually-hidden">Keys per page</span>
      <select value={String(pageSize)} onChange={(e) => onSize(Number(e.currentTarget.value))} aria-label="Keys per page">
        {PAGE_SIZES.map((n) => <option key={n} value={String(n)}>{n} a page</option>)}
      </select>
    </label>
  </span>
)

const DeleteSelected = ({ count, onDelete }: { readonly count: number; readonly onDelete: () => void }) => {
  const [confirming, setConfirming] = useState(false)
  if (!confirming) return <button type="button" disabled={count === 0} onClick={() => setConfirming(true)}>Delete selected ({count})…</button>
  return (
    <span role="group" aria-label="Confirm deleting">
      Delete {count} object{count === 1 ? "" : "s"}?{" "}
      <button type="button" class="danger" onClick={() => { setConfirming(false); onDelete() }}>Delete</button>{" "}
      <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
    </span>
  )
}

export const Objects = (place: Place) => {
  const { bucket, prefix, search, flat } = place
  // Tokens of the pages seen so far: tokens[i] opens page i (page 0 has none).
  const [tokens, setTokens] = useState<ReadonlyArray<string | undefined>>([undefined])
  const [page, setPage] = useState(0)
  const [pageSize, setPageSize] = useState<number>(PAGE_SIZES[0])
  const [listing, setListing] = useState<Listing | undefined>(undefined)
  const [order, setOrder] = useState<SortOrder>(NAME_ORDER)
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set())
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  // Counts deletions, so that the deleted keys are read again after one.
  const [deletions, setDeletions] = useState(0)

  const load = (token: string | undefined, size = pageSize) =>
    listObjects(bucket, prefix + search, token, size, !flat).then((l) => {
      setListing(l)
      setSelected(new Set())
    }, (e) => setError(messageOf(e)))

  const restart = (size = pageSize) => {
    setTokens([undefined])
    setPage(0)
    setListing(undefined)
    setError(undefined)
    void load(undefined, size)
  }
  useEffect(() => restart(), [bucket, prefix, search, flat])

  const goTo = (at: number) => {
    const token = at < tokens.length ? tokens[at] : listing?.next
    if (at >= tokens.length) setTokens([...tokens, token])
    setPage(at)
    void load(token)
  }

  const remove = async () => {
    const keys = [...selected]
    try {
      const refused = await deleteObjects(bucket, keys)
      setError(refused.length > 0 ? `Not deleted: ${refused.map((r) => `${r.key} (${r.message})`).join("; ")}` : undefined)
      setNotice(`Deleted ${keys.length - refused.length} of ${keys.length} selected.`)
      setDeletions((n) => n + 1)
    } catch (e) {
      setError(messageOf(e))
    }
    void load(tokens[page])
  }

  const toggle = (key: string) => {
    const next = new Set(selected)
    if (next.has(key)) next.delete(key)
    else next.add(key)
    setSelected(next)
  }
  const empty = search !== "" ? `No key starts with ${prefix}${search}.` : "Nothing here yet: drop files above to upload them."

  return (
    <section aria-labelledby="objects-title">
      <h1 id="objects-title">{bucket}</h1>
      <Breadcrumbs bucket={bucket} prefix={prefix} />
      <BucketSettings key={bucket} bucket={bucket} open={place.settings} />
      <DropZone bucket={bucket} prefix={prefix} onUploaded={() => void load(tokens[page])} />
      <Filters place={place} />
      <ErrorMessage error={error} />
      <Notice text={notice} />
      <div class="toolbar">
        <DeleteSelected count={selected.size} onDelete={() => void remove()} />
        <Pager page={page} hasNext={listing?.next !== undefined} pageSize={pageSize} onPage={goTo} onSize={(n) => { setPageSize(n); restart(n) }} />
      </div>
      {order.by === "name" ? null : <p class="detail">Sorted within this page: S3 lists keys by name, so other pages may hold larger or newer keys.</p>}
      {listing === undefined ? <p>Loading…</p> : (
        <ObjectTable bucket={bucket} prefix={prefix} listing={listing} order={order} onOrder={setOrder} selected={selected} onToggle={toggle} empty={empty} />
      )}
      {place.deleted ? <DeletedKeys bucket={bucket} prefix={prefix + search} shownFrom={prefix} folders={!flat} refresh={deletions} onRestored={() => void load(tokens[page])} /> : null}
    </section>
  )
}

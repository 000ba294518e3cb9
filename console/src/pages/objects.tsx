/**
 * One bucket, browsed by prefix with folders: a page of keys at a time
 * (S3 continuation tokens; back goes to the previous page's token), upload,
 * download, delete many at once, and each key's versions.
 */
import { useEffect, useState } from "preact/hooks"
import { deleteObjects, type Listing, listObjects, s3Path } from "../api/s3.ts"
import { formatBytes, formatTime } from "../format.ts"
import { ErrorMessage, messageOf, Notice } from "../messages.tsx"
import { href } from "../route.ts"
import { DropZone } from "./drop-zone.tsx"

const PAGE_SIZE = 100

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

export const Objects = ({ bucket, prefix }: { readonly bucket: string; readonly prefix: string }) => {
  // Tokens of the pages seen so far: tokens[i] opens page i (page 0 has none).
  const [tokens, setTokens] = useState<ReadonlyArray<string | undefined>>([undefined])
  const [page, setPage] = useState(0)
  const [listing, setListing] = useState<Listing | undefined>(undefined)
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set())
  const [confirming, setConfirming] = useState(false)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)

  const load = (token: string | undefined) =>
    listObjects(bucket, prefix, token, PAGE_SIZE).then((l) => {
      setListing(l)
      setSelected(new Set())
    }, (e) => setError(messageOf(e)))

  useEffect(() => {
    setTokens([undefined])
    setPage(0)
    setListing(undefined)
    setError(undefined)
    void load(undefined)
  }, [bucket, prefix])

  const goTo = (at: number, token: string | undefined) => {
    if (at >= tokens.length) setTokens([...tokens, token])
    setPage(at)
    void load(token)
  }

  const remove = async () => {
    setConfirming(false)
    const keys = [...selected]
    try {
      const refused = await deleteObjects(bucket, keys)
      if (refused.length > 0) setError(`Not deleted: ${refused.map((r) => `${r.key} (${r.message})`).join("; ")}`)
      else setError(undefined)
      setNotice(`Deleted ${keys.length - refused.length} of ${keys.length} selected.`)
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

  return (
    <section aria-labelledby="objects-title">
      <h1 id="objects-title">{bucket}</h1>
      <Breadcrumbs bucket={bucket} prefix={prefix} />
      <DropZone bucket={bucket} prefix={prefix} onUploaded={() => void load(tokens[page])} />
      <ErrorMessage error={error} />
      <Notice text={notice} />
      <div class="toolbar">
        {confirming
          ? (
            <span role="group" aria-label="Confirm deleting">
              Delete {selected.size} object{selected.size === 1 ? "" : "s"}? <button type="button" class="danger" onClick={remove}>Delete</button>{" "}
              <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
            </span>
          )
          : <button type="button" disabled={selected.size === 0} onClick={() => setConfirming(true)}>Delete selected ({selected.size})…</button>}
        <span class="pager">
          <button type="button" disabled={page === 0} onClick={() => goTo(page - 1, tokens[page - 1])}>Previous page</button>
          <span>Page {page + 1}</span>
          <button type="button" disabled={listing?.next === undefined} onClick={() => goTo(page + 1, listing?.next)}>Next page</button>
        </span>
      </div>
      {listing === undefined ? <p>Loading…</p> : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Objects under {prefix === "" ? "the bucket's root" : prefix}</caption>
            <thead>
              <tr><th scope="col"><span class="visually-hidden">Select</span></th><th scope="col">Name</th><th scope="col">Size</th><th scope="col">Modified</th><th scope="col">Actions</th></tr>
            </thead>
            <tbody>
              {listing.folders.map((f) => (
                <tr key={f} class="folder">
                  <td></td>
                  <th scope="row"><a href={href({ page: "objects", bucket, prefix: f })}>📁 {f.slice(prefix.length)}</a></th>
                  <td>—</td><td>—</td><td></td>
                </tr>
              ))}
              {listing.objects.map((o) => {
                const name = o.key.slice(prefix.length)
                return (
                  <tr key={o.key}>
                    <td><input type="checkbox" checked={selected.has(o.key)} onChange={() => toggle(o.key)} aria-label={`Select ${name}`} /></td>
                    <th scope="row">{name}</th>
                    <td>{formatBytes(o.size)}</td>
                    <td>{formatTime(o.modified)}</td>
                    <td>
                      <a href={s3Path(bucket, o.key)} download={name.split("/").pop()} aria-label={`Download ${name}`}>Download</a>{" · "}
                      <a href={href({ page: "versions", bucket, key: o.key })} aria-label={`Versions of ${name}`}>Versions</a>
                    </td>
                  </tr>
                )
              })}
              {listing.folders.length === 0 && listing.objects.length === 0
                ? <tr><td colSpan={5}>Nothing here yet: drop files above to upload them.</td></tr>
                : null}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}

/**
 * A share link for one object, or one version of it: a presigned GET made
 * by the node with the signed-in key (POST /api/share), valid for the time
 * chosen (up to 7 days, S3's limit). Whoever has the link can download the object without
 * signing in; revoking the key ends every link it signed.
 */
import { useId, useState } from "preact/hooks"
import type { ShareLink as Link, ShareRequest } from "../../../runtime-node/src/console/contract.ts"
import { callJson } from "../api/client.ts"
import { formatTime } from "../format.ts"
import { ErrorMessage, messageOf } from "../messages.tsx"

const EXPIRIES: ReadonlyArray<readonly [string, number]> = [
  ["15 minutes", 15 * 60],
  ["1 hour", 3600],
  ["1 day", 24 * 3600],
  ["7 days (the longest S3 allows)", 7 * 24 * 3600]
]

/** With `versionId`, the link serves that version whatever is current; without, the version current when it is used. */
export const ShareLink = ({ bucket, keyName, versionId }: { readonly bucket: string; readonly keyName: string; readonly versionId?: string }) => {
  // Ids of this form's own: the details page shows a key's form and, below, one of a version's.
  const id = useId()
  const [expires, setExpires] = useState(3600)
  const [link, setLink] = useState<Link | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const [copied, setCopied] = useState(false)

  const create = async (e: Event) => {
    e.preventDefault()
    setCopied(false)
    try {
      setLink(await callJson<Link>("POST", "/api/share", { bucket, key: keyName, expiresSeconds: expires, ...(versionId === undefined ? {} : { versionId }) } satisfies ShareRequest))
      setError(undefined)
    } catch (err) {
      setError(messageOf(err))
    }
  }
  const copy = async () => {
    if (link === undefined) return
    try {
      await navigator.clipboard.writeText(link.url)
      setCopied(true)
    } catch {
      // No clipboard (plain HTTP on another host, or denied): the link is selected for the person to copy.
      document.getElementById(`${id}-url`)?.focus()
    }
  }

  return (
    <form class="share" aria-labelledby={`${id}-title`} onSubmit={create}>
      <h2 id={`${id}-title`}>{versionId === undefined ? "Share link" : `Share link of version ${versionId}`}</h2>
      <p class="detail">
        {versionId === undefined
          ? "Anyone with the link can download this key (the version current when they use it) until it expires, without signing in."
          : "Anyone with the link can download this version, even after newer ones are written, until it expires, without signing in."}
      </p>
      <div class="inline">
        <label for={`${id}-expiry`}>Expires after</label>
        <select id={`${id}-expiry`} value={String(expires)} onChange={(e) => setExpires(Number(e.currentTarget.value))}>
          {EXPIRIES.map(([label, s]) => <option key={s} value={String(s)}>{label}</option>)}
        </select>
        <button type="submit">Create link</button>
      </div>
      <ErrorMessage error={error} />
      {link === undefined ? null : (
        <div class="share-result">
          <label for={`${id}-url`}>Link (expires {formatTime(new Date(link.expiresMs).toISOString())})</label>
          <input id={`${id}-url`} readOnly value={link.url} onFocus={(e) => e.currentTarget.select()} />
          <button type="button" onClick={() => void copy()}>{copied ? "Copied" : "Copy"}</button>
        </div>
      )}
    </form>
  )
}

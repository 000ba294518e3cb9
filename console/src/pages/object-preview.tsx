/** A look at an object without downloading it: images, PDFs, text and JSON, within the limits of api/preview.ts. */
import { useEffect, useState } from "preact/hooks"
import type { ObjectInfo } from "../api/object-info.ts"
import { openPdf, type PdfDocument } from "../api/pdf.ts"
import { IMAGE_LIMIT, PDF_LIMIT, prettyJson, previewKind, readBytes, readImage, readTextHead, TEXT_LIMIT } from "../api/preview.ts"
import { formatBytes } from "../format.ts"
import { ErrorMessage, messageOf } from "../messages.tsx"
import { PdfView } from "./pdf-view.tsx"

type Shown =
  | { readonly kind: "image"; readonly url: string }
  | { readonly kind: "pdf"; readonly doc: PdfDocument }
  | { readonly kind: "text"; readonly text: string; readonly note: string | undefined }
  | { readonly kind: "none"; readonly why: string }

/** What to show: read the bytes, or say why not. */
const load = async (bucket: string, key: string, info: ObjectInfo): Promise<Shown> => {
  const kind = previewKind(info.contentType, key)
  if (kind === "none") return { kind: "none", why: `No preview for ${info.contentType || "this type"}: download it to open it.` }
  if (kind === "image") {
    if (info.size > IMAGE_LIMIT) return { kind: "none", why: `Images are previewed up to ${formatBytes(IMAGE_LIMIT)}; this one is ${formatBytes(info.size)}: download it to open it.` }
    return { kind: "image", url: await readImage(bucket, key) }
  }
  if (kind === "pdf") {
    if (info.size > PDF_LIMIT) return { kind: "none", why: `PDFs are previewed up to ${formatBytes(PDF_LIMIT)}; this one is ${formatBytes(info.size)}: download it to open it.` }
    return { kind: "pdf", doc: await openPdf(await readBytes(bucket, key)) }
  }
  const text = info.size === 0 ? "" : await readTextHead(bucket, key)
  const cut = info.size > TEXT_LIMIT
  const cutNote = cut ? `The first ${formatBytes(TEXT_LIMIT)} of ${formatBytes(info.size)}.` : undefined
  if (kind === "json" && !cut) {
    const pretty = prettyJson(text)
    return pretty === undefined ? { kind: "text", text, note: "Not valid JSON: shown as it is." } : { kind: "text", text: pretty, note: undefined }
  }
  return { kind: "text", text, note: cutNote }
}

export const ObjectPreview = ({ bucket, keyName, info }: { readonly bucket: string; readonly keyName: string; readonly info: ObjectInfo }) => {
  const [shown, setShown] = useState<Shown | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => {
    // What the preview holds and must free: an image's blob: URL, an open PDF.
    let release: (() => void) | undefined
    let live = true
    setShown(undefined)
    setError(undefined)
    load(bucket, keyName, info).then((s) => {
      if (s.kind === "image") release = () => URL.revokeObjectURL(s.url)
      // A failed close leaves only a worker to the garbage collector: said in the browser's console, not to the person.
      if (s.kind === "pdf") release = () => void s.doc.close().catch((e: unknown) => console.warn("closing a PDF preview:", e))
      if (live) setShown(s)
      else release?.()
    }, (e) => live && setError(messageOf(e)))
    return () => {
      live = false
      release?.()
    }
  }, [bucket, keyName, info.etag])

  return (
    <section aria-labelledby="preview-title" class="preview">
      <h2 id="preview-title">Preview</h2>
      <ErrorMessage error={error} />
      {shown === undefined
        ? (error === undefined ? <p>Loading preview…</p> : null)
        : shown.kind === "image"
        ? <img src={shown.url} alt={`Preview of ${keyName}`} />
        : shown.kind === "pdf"
        ? <PdfView doc={shown.doc} name={keyName} />
        : shown.kind === "text"
        ? (
          <>
            {shown.note === undefined ? null : <p class="detail">{shown.note}</p>}
            <pre tabIndex={0} aria-label={`Contents of ${keyName}`}>{shown.text}</pre>
          </>
        )
        : <p class="detail">{shown.why}</p>}
    </section>
  )
}

/** A PDF's pages drawn one at a time on a canvas, with previous/next; the document is opened and closed by the caller. */
import { useEffect, useRef, useState } from "preact/hooks"
import type { PdfDocument } from "../api/pdf.ts"
import { ErrorMessage, messageOf } from "../messages.tsx"

/** Wide enough to read a page, narrow enough for the details column. */
const WIDTH = 720

export const PdfView = ({ doc, name }: { readonly doc: PdfDocument; readonly name: string }) => {
  const canvas = useRef<HTMLCanvasElement>(null)
  const [page, setPage] = useState(1)
  const [drawn, setDrawn] = useState<number | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => {
    const target = canvas.current
    if (target === null) return
    let live = true
    setDrawn(undefined)
    const width = Math.min(WIDTH, target.parentElement?.clientWidth ?? WIDTH)
    doc.draw(page, target, width).then(() => live && setDrawn(page), (e) => live && setError(`Could not draw page ${page}: ${messageOf(e)}`))
    return () => void (live = false)
  }, [doc, page])

  return (
    <>
      <div class="pdf-pager">
        <button type="button" class="small" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous page</button>
        <span aria-live="polite">Page {page} of {doc.pages}</span>
        <button type="button" class="small" disabled={page >= doc.pages} onClick={() => setPage(page + 1)}>Next page</button>
      </div>
      <ErrorMessage error={error} />
      <canvas ref={canvas} role="img" aria-label={`Page ${page} of ${name}`} aria-busy={drawn !== page} />
    </>
  )
}

/**
 * A PDF drawn on a canvas with pdf.js (Mozilla's reader; ADR 0010 says why),
 * loaded only when a PDF is previewed, so the rest of the console does not
 * carry it. Its worker is a file of the console's own build, served from
 * 'self': the page's CSP (script-src 'self', which worker-src falls back
 * to) needs no blob: or eval. Nothing of the PDF runs: pdf.js 6 has no eval
 * path left (the build holds no `new Function`), XFA forms are off, no
 * annotation layer or scripting sandbox is loaded, and WebAssembly decoders
 * are off (the CSP would refuse them; those images draw with the JS decoders).
 */
import workerUrl from "pdfjs-dist/build/pdf.worker.min.mjs?url"

/** An open PDF: how many pages, drawing one, closing it (frees the worker). */
export interface PdfDocument {
  readonly pages: number
  /** Draws page `n` (from 1) to fit `width` CSS pixels, sharp on high-density screens. */
  readonly draw: (n: number, canvas: HTMLCanvasElement, width: number) => Promise<void>
  readonly close: () => Promise<void>
}

export const openPdf = async (bytes: Uint8Array): Promise<PdfDocument> => {
  const pdfjs = await import("pdfjs-dist")
  pdfjs.GlobalWorkerOptions.workerSrc = workerUrl
  const task = pdfjs.getDocument({ data: bytes, enableXfa: false, useWasm: false, stopAtErrors: false })
  const doc = await task.promise
  return {
    pages: doc.numPages,
    draw: async (n, canvas, width) => {
      const page = await doc.getPage(n)
      const natural = page.getViewport({ scale: 1 })
      const ratio = globalThis.devicePixelRatio || 1
      const viewport = page.getViewport({ scale: (width / natural.width) * ratio })
      canvas.width = Math.floor(viewport.width)
      canvas.height = Math.floor(viewport.height)
      // Sized through the CSSOM: the CSP refuses inline style attributes.
      canvas.style.width = `${Math.floor(viewport.width / ratio)}px`
      await page.render({ canvas, viewport }).promise
      page.cleanup()
    },
    close: () => task.destroy()
  }
}

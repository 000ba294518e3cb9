/** The one way pages show an outcome: an error (announced at once) or a notice (announced politely). */
export const ErrorMessage = ({ error }: { readonly error: string | undefined }) =>
  error === undefined ? null : <p class="message error" role="alert">{error}</p>

export const Notice = ({ text }: { readonly text: string | undefined }) =>
  <p class="message notice" role="status" aria-live="polite">{text ?? ""}</p>

export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/**
 * A figure the page keeps fresh: asked for at once, then again `everyMs`
 * after each answer (never two requests at a time, so a slow node is not
 * piled on), until the component goes away or `deps` change.
 */
import { useEffect, useState } from "preact/hooks"
import { messageOf } from "../messages.tsx"

export interface Polled<A> {
  readonly value: A | undefined
  /** The last failure's message, cleared by the next success. */
  readonly error: string | undefined
  /** When the last answer came. */
  readonly at: Date | undefined
}

export const usePolling = <A,>(ask: () => Promise<A>, everyMs: number, deps: ReadonlyArray<unknown> = []): Polled<A> => {
  const [state, setState] = useState<Polled<A>>({ value: undefined, error: undefined, at: undefined })
  useEffect(() => {
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const tick = async () => {
      try {
        const value = await ask()
        if (!stopped) setState({ value, error: undefined, at: new Date() })
      } catch (e) {
        if (!stopped) setState((s) => ({ ...s, error: messageOf(e) }))
      }
      if (!stopped) timer = setTimeout(tick, everyMs)
    }
    void tick()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }, deps)
  return state
}

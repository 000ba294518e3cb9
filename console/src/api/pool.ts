/**
 * Runs a task per item, at most `width` at once (an upload's parts go four
 * at a time). After the first failure no new task starts; the ones already
 * running finish (a part that lands is kept on the node and not sent again
 * on resume), then the first failure is thrown.
 */
export const runPool = async <A>(items: ReadonlyArray<A>, width: number, task: (item: A) => Promise<void>): Promise<void> => {
  if (!Number.isInteger(width) || width < 1) throw new Error(`a pool needs a width of 1 or more, got ${width}`)
  let next = 0
  let failed: { readonly error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!
      try {
        await task(item)
      } catch (error) {
        failed ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker))
  if (failed !== undefined) throw failed.error
}

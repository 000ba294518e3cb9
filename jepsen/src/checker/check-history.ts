/**
 * Checking a Jepsen history end to end: pair invokes with completions,
 * convert them for the model, search.
 */
import type { Op } from "../history/op.ts"
import type { HistoryModel } from "../model/history-model.ts"
import { toOperations } from "../model/history-model.ts"
import type { CheckOptions, LinearizabilityResult } from "./linearizability.ts"
import { checkOperations } from "./linearizability.ts"

export const checkHistory = <S, I, O>(
  model: HistoryModel<S, I, O>,
  history: ReadonlyArray<Op>,
  options: CheckOptions = {}
): LinearizabilityResult => checkOperations(model, toOperations(model, history), options)

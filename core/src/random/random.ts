/**
 * The Random service: the only source of randomness in core.
 *
 * In the simulator every stream derives from one seed, split deterministically
 * by a label per node and per component, so that adding a random draw in one
 * component never shifts the draws of another.
 */
import { Context, type Effect } from "effect"

export interface RandomShape {
  /** A uniformly distributed integer in [0, 2^32). */
  readonly nextUint32: Effect.Effect<number>
  /** A uniformly distributed integer in [min, max] (both inclusive). */
  readonly nextIntBetween: (min: number, max: number) => Effect.Effect<number>
  /** An independent stream derived from this one and `label`. */
  readonly split: (label: string) => RandomShape
}

export class Random extends Context.Service<Random, RandomShape>()("cairn/Random") {}

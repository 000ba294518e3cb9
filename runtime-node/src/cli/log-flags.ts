/**
 * The flags `cairn log`'s commands share, and the checks of their values:
 * a bad topic name or number is a usage error (exit 2) naming the rule.
 */
import { Console, Effect, Option } from "effect"
import { Flag } from "effect/cli"
import { type LogCommandError, usage } from "./log-api-client.ts"

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/

export const topicFlag = Flag.String("topic").pipe(Flag.withDescription("the topic's name"))
export const partitionFlag = Flag.String("partition").pipe(Flag.withDefault("0"), Flag.withDescription("the partition, from 0 (default 0)"))
export const optionalNumber = (name: string, description: string) => Flag.String(name).pipe(Flag.optional, Flag.withDescription(description))

export const checkTopic = (name: string): Effect.Effect<string, LogCommandError> =>
  TOPIC_NAME.test(name) ? Effect.succeed(name) : Effect.fail(usage(`--topic ${JSON.stringify(name)}: a topic name is 1-249 of the characters A-Z a-z 0-9 . _ -`))

export const wholeNumber = (flag: string, text: string, min = 0): Effect.Effect<number, LogCommandError> => {
  const n = /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN
  return Number.isSafeInteger(n) && n >= min ? Effect.succeed(n) : Effect.fail(usage(`--${flag} ${JSON.stringify(text)}: expected a whole number${min > 0 ? ` of at least ${min}` : ""}`))
}

export const optional = (flag: string, value: Option.Option<string>, min = 0) =>
  Option.isNone(value) ? Effect.succeed(undefined) : wholeNumber(flag, value.value, min)

export const topicPath = (topic: string) => `/v1/log/topics/${encodeURIComponent(topic)}`
export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))


/**
 * kafkajs consumers of one group, run in a child process of the Kafka
 * group tests (`kafkajs-consumers.test-support.ts` starts it in a process
 * group of its own and kills that group when the test ends).
 *
 * Why a child: kafkajs 2.2.4's fetcher loop can spin on resolved promises
 * once a consumer's runner has stopped (`fetcher.js` start → `runner.js`
 * fetch returns `[]` at once while the runner is not running), and a
 * process spinning in microtasks never runs a timer again — in the test
 * runner that meant not even the test's own timeout fired. In a child the
 * test keeps its clock: a spinning child stops answering and the test fails
 * with the events it saw, the last crash among them.
 *
 * Protocol, one JSON object per line. Commands on stdin:
 *   {"op":"start","member":0,"brokers":["127.0.0.1:9092"],"group":"g","topic":"t"}
 *   {"op":"stop","member":0}
 * Events on stdout:
 *   {"event":"joined","member":0,"partitions":[0,1]}
 *   {"event":"read","member":0,"partition":0,"offset":"3","value":"7"}
 *   {"event":"crash","member":0,"error":"…"}
 *   {"event":"stopped","member":0}
 *   {"event":"failed","member":0,"error":"…"}   (a command that threw)
 */
import { type Consumer, Kafka, logLevel } from "kafkajs"
import { createInterface } from "node:readline"

interface StartCommand {
  readonly op: "start"
  readonly member: number
  readonly brokers: ReadonlyArray<string>
  readonly group: string
  readonly topic: string
}

interface StopCommand {
  readonly op: "stop"
  readonly member: number
}

type Command = StartCommand | StopCommand

const consumers = new Map<number, Consumer>()

const emit = (event: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

const start = async (command: StartCommand): Promise<void> => {
  const kafka = new Kafka({ clientId: `groups-test-${command.member}`, brokers: [...command.brokers], logLevel: logLevel.NOTHING, retry: { retries: 10 } })
  const consumer = kafka.consumer({ groupId: command.group, sessionTimeout: 10_000, heartbeatInterval: 1_000, allowAutoTopicCreation: false })
  consumers.set(command.member, consumer)
  consumer.on(consumer.events.GROUP_JOIN, (e) =>
    emit({ event: "joined", member: command.member, partitions: [...(e.payload.memberAssignment[command.topic] ?? [])].sort((a, b) => a - b) })
  )
  consumer.on(consumer.events.CRASH, (e) => emit({ event: "crash", member: command.member, error: String(e.payload.error) }))
  await consumer.connect()
  await consumer.subscribe({ topics: [command.topic], fromBeginning: true })
  await consumer.run({
    autoCommitThreshold: 1, // commit each record as soon as it is processed
    eachMessage: async ({ partition, message }) =>
      emit({ event: "read", member: command.member, partition, offset: message.offset, value: message.value?.toString() ?? "" })
  })
}

const stop = async (command: StopCommand): Promise<void> => {
  const consumer = consumers.get(command.member)
  if (consumer === undefined) throw new Error(`no consumer ${command.member} runs here`)
  consumers.delete(command.member)
  await consumer.disconnect()
  emit({ event: "stopped", member: command.member })
}

const run = (command: Command): void => {
  const done = command.op === "start" ? start(command) : stop(command)
  done.catch((error: unknown) => emit({ event: "failed", member: command.member, error: String(error) }))
}

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() !== "") run(JSON.parse(line) as Command)
})

"""
The Kafka benchmark's load (`kafka.bench.ts` runs it): librdkafka through
Debian's python3-confluent-kafka, so the client is the one most Kafka users
run, not Cairn's own.

    kafka-load.py produce BOOTSTRAP TOPIC PARTITIONS SECONDS RECORD_BYTES
    kafka-load.py e2e     BOOTSTRAP TOPIC SECONDS RATE RECORD_BYTES

`produce`: one producer, acks=all, batching as librdkafka does by default
with linger.ms=5, records spread round-robin over the partitions, as fast
as it takes them, for SECONDS: the throughput. Its latencies (produce() to
delivery report) are those of a saturated producer, mostly time queued in
the client. `e2e`: a producer at a fixed RATE (records/s), below
saturation, and a consumer of partition 0 without a group (assigned from
the beginning of a fresh topic): the produce latency (produce() to
delivery report) and the end-to-end latency (produce() to the record's
arrival at the consumer), both clocks being this process's. Prints one
JSON object on stdout.
"""
import json
import sys
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))
    return sorted_values[i]


def producer_config(bootstrap):
    return {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "linger.ms": 5,
        "enable.idempotence": False,
        "queue.buffering.max.messages": 200000,
        "queue.buffering.max.kbytes": 262144,
        "message.timeout.ms": 60000,
    }


def produce(bootstrap, topic, partitions, seconds, record_bytes):
    producer = Producer(producer_config(bootstrap))
    payload = b"x" * record_bytes
    latencies = []
    errors = [0]
    delivered = [0]

    def report(err, _msg, started):
        if err is not None:
            errors[0] += 1
            return
        delivered[0] += 1
        latencies.append(time.monotonic() - started)

    t0 = time.monotonic()
    end = t0 + seconds
    sent = 0
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            producer.produce(topic, payload, partition=sent % partitions, on_delivery=lambda e, m, s=started: report(e, m, s))
            sent += 1
        except BufferError:
            producer.poll(0.001)
            continue
        if sent % 256 == 0:
            producer.poll(0)
    remaining = producer.flush(60)
    elapsed = time.monotonic() - t0
    latencies.sort()
    return {
        "sent": sent,
        "delivered": delivered[0],
        "errors": errors[0],
        "undelivered": remaining,
        "seconds": elapsed,
        "recordsPerSec": delivered[0] / elapsed,
        "mbPerSec": delivered[0] * record_bytes / elapsed / 1e6,
        "p50Ms": None if not latencies else percentile(latencies, 50) * 1000,
        "p99Ms": None if not latencies else percentile(latencies, 99) * 1000,
    }


def e2e(bootstrap, topic, seconds, rate, record_bytes):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "cairn-bench-unused",  # librdkafka requires one; assign() below uses no group protocol
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 100,
        "fetch.min.bytes": 1,
    })
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    received = {}
    stop = threading.Event()

    def consume():
        while not stop.is_set():
            msg = consumer.poll(0.05)
            if msg is None or msg.error() is not None:
                continue
            key = msg.key()
            if key is not None:
                received[key] = time.monotonic()

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(1.0)  # the consumer's first fetch is in place before anything is produced
    producer = Producer(producer_config(bootstrap))
    payload = b"x" * record_bytes
    sent_at = {}
    delivery = []

    def delivered(err, _msg, started):
        if err is None:
            delivery.append(time.monotonic() - started)

    interval = 1.0 / rate
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        key = str(n).encode()
        started = time.monotonic()
        sent_at[key] = started
        producer.produce(topic, payload, key=key, partition=0, on_delivery=lambda e, m, s=started: delivered(e, m, s))
        producer.poll(0)
        n += 1
        next_at = t0 + n * interval
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    producer.flush(30)
    deadline = time.monotonic() + 10
    while len(received) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join()
    consumer.close()
    latencies = sorted(received[k] - sent_at[k] for k in received if k in sent_at)
    delivery.sort()
    return {
        "sent": n,
        "delivered": len(delivery),
        "produceP50Ms": percentile(delivery, 50) * 1000 if delivery else None,
        "produceP99Ms": percentile(delivery, 99) * 1000 if delivery else None,
        "received": len(latencies),
        "p50Ms": None if not latencies else percentile(latencies, 50) * 1000,
        "p99Ms": None if not latencies else percentile(latencies, 99) * 1000,
    }


def main(argv):
    if len(argv) >= 7 and argv[1] == "produce":
        result = produce(argv[2], argv[3], int(argv[4]), float(argv[5]), int(argv[6]))
    elif len(argv) >= 7 and argv[1] == "e2e":
        result = e2e(argv[2], argv[3], float(argv[4]), float(argv[5]), int(argv[6]))
    else:
        sys.stderr.write(__doc__)
        return 2
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

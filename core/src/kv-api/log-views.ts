/**
 * The answers of the log API's consumer-group reads (`GET /v1/log/groups`,
 * `GET /v1/log/groups/{group}`, docs/log.md "Consumer groups"): types only,
 * no runtime imports, so the console's browser code imports this file as
 * it is and reads the node's answers with the node's own types.
 */

/** Where a group's partition stands: its committed offset, the partition's end, and the difference. */
export interface GroupPartitionView {
  readonly topic: string
  readonly partition: number
  /** The next offset the group will read; null when the group has none committed (an assigned partition only). */
  readonly offset: number | null
  /** The committer's metadata string (Kafka's OffsetCommit metadata). */
  readonly metadata: string
  /** The partition's high watermark (the next offset to be written); null when it could not be read. */
  readonly highWatermark: number | null
  /** Records committed to the partition that the group has not committed past: highWatermark - offset (never below 0). */
  readonly lag: number | null
  /** The member assigned the partition in the stored generation, if any. */
  readonly memberId: string | null
  /** Why the high watermark is missing (the topic is gone, the partition did not answer). */
  readonly error?: string
}

export interface GroupMemberView {
  readonly memberId: string
  /** The static member id (group.instance.id), if the member gave one. */
  readonly instanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  /** Its partitions, when the assignment is the Kafka consumer protocol's (null otherwise, e.g. Kafka Connect's). */
  readonly assignment: ReadonlyArray<{ readonly topic: string; readonly partitions: ReadonlyArray<number> }> | null
}

export interface GroupView {
  readonly group: string
  /**
   * As the group's coordinator last stored it (at each completed rebalance): Empty, CompletingRebalance
   * or Stable. A group known only by offsets committed through this API is Empty.
   */
  readonly state: "Empty" | "CompletingRebalance" | "Stable"
  /** "consumer" for Kafka consumers; null for a group that never had members. */
  readonly protocolType: string | null
  /** The chosen assignor (e.g. "range", "roundrobin", "cooperative-sticky"). */
  readonly protocol: string | null
  readonly generation: number
  readonly leader: string | null
  readonly members: ReadonlyArray<GroupMemberView>
  /** Every partition the group has an offset for or a member assigned, by topic then partition. */
  readonly partitions: ReadonlyArray<GroupPartitionView>
  /** The sum of `partitions`' known lags. */
  readonly totalLag: number
}

/** `GET /v1/log/groups` (`?topic=` keeps the groups that read that topic, and only its partitions). */
export interface GroupsView {
  readonly groups: ReadonlyArray<GroupView>
}

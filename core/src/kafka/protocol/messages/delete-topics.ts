/**
 * DeleteTopics (key 20), v0-6, flexible from v4: topics by name (v0-5) or
 * by name or topic id (v6+).
 */
import { array, field, int16, int32, message, nullable, string, struct, uuid } from "../schema.ts"

const DeleteTopicState = struct("DeleteTopicState", {
  name: nullable(string, "6+", "6+", { default: null }),
  topicId: field(uuid, "6+")
})

export const DeleteTopicsRequest = message({
  name: "DeleteTopicsRequest",
  apiKey: 20,
  validVersions: "0-6",
  flexibleVersions: "4+",
  fields: {
    topics: field(array(DeleteTopicState), "6+"),
    topicNames: field(array(string), "0-5", { ignorable: true }),
    timeoutMs: field(int32, "0+")
  }
})

const DeletableTopicResult = struct("DeletableTopicResult", {
  name: nullable(string, "0+", "6+"),
  topicId: field(uuid, "6+", { ignorable: true }),
  errorCode: field(int16, "0+"),
  errorMessage: nullable(string, "5+", "5+", { ignorable: true, default: null })
})

export const DeleteTopicsResponse = message({
  name: "DeleteTopicsResponse",
  apiKey: 20,
  validVersions: "0-6",
  flexibleVersions: "4+",
  fields: {
    throttleTimeMs: field(int32, "1+", { ignorable: true }),
    responses: field(array(DeletableTopicResult), "0+")
  }
})

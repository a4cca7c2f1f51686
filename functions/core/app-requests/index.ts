export { ANSWER_WINDOW_MS, answerAppRequest, LEASE_MS, type Outcome } from "./answer-request.ts";
export { type AppKeyDirectory, identify } from "./identity.ts";
export type * from "./ports.ts";
export {
  AppRequest,
  keyNameOfTopic,
  type Refusal,
  readAppRequest,
  requestTopic,
  responseTopic,
  UNREADABLE_LEVEL,
} from "./request.ts";

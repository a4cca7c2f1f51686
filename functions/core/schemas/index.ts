export * from "./attendance.ts";
export * from "./common.ts";
export * from "./emqx.ts";
export * from "./status.ts";

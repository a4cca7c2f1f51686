export * from "./attendance.ts";
export * from "./command.ts";
export * from "./common.ts";
export * from "./emqx.ts";
export * from "./status.ts";

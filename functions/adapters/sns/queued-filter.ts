/**
 * The filter policy (scope `MessageBody`) of the commands queue's subscription to the events topic: a
 * command's `queued` announcement is the pointer the publisher needs (`sn`, `data.id`), so announcing a
 * new command also enqueues it, with the device's serial number as its message group. Shared by
 * infra/lib/storage.ts and the local stack so both subscribe the same way.
 */
export const QUEUED_ANNOUNCEMENTS = {
  type: ["command_status"],
  data: { status: ["queued"] },
} as const;

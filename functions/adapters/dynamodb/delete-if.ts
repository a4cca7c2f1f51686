import { DeleteCommand, type DeleteCommandInput, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { sendConditional } from "./send.ts";

/**
 * A DeleteItem under `input`'s condition: false when the condition failed, which the caller's comment says
 * is nothing to do. Its own module, not a TableAdapter method, so only the bundles that delete carry
 * DeleteCommand: test/infra/iam-actions.test.ts grants each function the calls its bundle can make.
 */
export function deleteIf(
  documents: DynamoDBDocumentClient,
  tableName: string,
  what: string,
  input: Omit<DeleteCommandInput, "TableName">,
): Promise<boolean> {
  return sendConditional(`DynamoDB DeleteItem (${what})`, () =>
    documents.send(new DeleteCommand({ ...input, TableName: tableName })),
  );
}

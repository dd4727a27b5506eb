import { quoteSchema } from '../../db/identifiers.js';

/** `"schema".processed_messages`; the schema name is validated (ConfigError) before it is spliced in. */
export function processedMessagesTable(schema: string): string {
  return `${quoteSchema(schema)}.processed_messages`;
}

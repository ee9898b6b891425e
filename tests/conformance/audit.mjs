// Runs graphql-http's server audits (GraphQL over HTTP) against the URL given and prints one
// JSON line per audit: {"id", "name", "status": "ok" | "warn" | "error", "reason"}.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    line.responseStatus = result.response.status;
  }
  console.log(JSON.stringify(line));
}

// Fetch a document, change one field, and POST only the resulting delta.
// usage: node edit_doc.mjs <server_base_url> <token> <doc_id> <field> <value>
import * as Y from 'yjs';
import { content, emit, fetchDoc, logEntry, postUpdate, usage } from './common.mjs';

const [base, token, docId, field, value] = usage(process.argv.slice(2), [
  'server_base_url', 'token', 'doc_id', 'field', 'value',
]);

const { doc, status } = await fetchDoc(base, token, docId);
if (status !== 200) {
  emit({ status, body: null, content: content(doc) });
  process.exit(0);
}

const svBefore = Y.encodeStateVector(doc);
doc.transact(() => {
  const log = doc.getArray('log');
  // prev links this write to every earlier write of the same field (causal history).
  const prev = log.toJSON().filter((e) => e && e.f === field).map((e) => e.id);
  doc.getMap('fields').set(field, value);
  log.push([logEntry(field, value, prev)]);
});

const res = await postUpdate(base, token, docId, Y.encodeStateAsUpdate(doc, svBefore));
emit({ status: res.status, body: res.body, content: content(doc) });

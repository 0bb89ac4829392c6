// Create a record document with real yjs and POST it as one v1 update.
// usage: node write_doc.mjs <server_base_url> <token> <doc_id> <grid>
import * as Y from 'yjs';
import { AUTHOR, NOW, content, emit, logEntry, postUpdate, usage } from './common.mjs';

const [base, token, docId, grid] = usage(process.argv.slice(2), ['server_base_url', 'token', 'doc_id', 'grid']);

const doc = new Y.Doc();
const fieldValues = {
  purpose: '关爱探访',
  // Astral-plane characters (emoji, CJK Ext. B) exercise UTF-16 vs UTF-8 length handling.
  findings: '独居老人，需要送餐 🍚 𠀀 mixed script',
  household: crypto.randomUUID(),
};

doc.transact(() => {
  const meta = doc.getMap('meta');
  meta.set('kind', 'visit');
  meta.set('grid', grid);
  meta.set('created_by', AUTHOR);
  meta.set('created_at', NOW);
  meta.set('schema', 1);

  const fields = doc.getMap('fields');
  const log = doc.getArray('log');
  for (const [f, v] of Object.entries(fieldValues)) {
    fields.set(f, v);
    log.push([logEntry(f, v)]);
  }

  // A nested Y.Map (not a JSON blob) so the server must handle embedded shared types.
  const note = new Y.Map();
  doc.getArray('notes').push([note]);
  note.set('id', crypto.randomUUID());
  note.set('by', AUTHOR);
  note.set('at', NOW);
  note.set('kind', 'note');
  note.set('text', '第一次上门');
});

const { status, body } = await postUpdate(base, token, docId, Y.encodeStateAsUpdate(doc));
emit({ status, body, content: content(doc) });

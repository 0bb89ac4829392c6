// Fetch a document (full + incremental round) and print its content.
// usage: node read_doc.mjs <server_base_url> <token> <doc_id>
import { content, emit, fetchDoc, usage } from './common.mjs';

const [base, token, docId] = usage(process.argv.slice(2), ['server_base_url', 'token', 'doc_id']);

const { doc, status, serverSvBytes, diffBytes, diffNoop } = await fetchDoc(base, token, docId);
emit({ status, content: content(doc), server_sv_bytes: serverSvBytes, diff_bytes: diffBytes, diff_noop: diffNoop });

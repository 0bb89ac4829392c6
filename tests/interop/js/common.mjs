// Shared helpers for the interop scripts: HTTP plumbing and the record-doc view.
import * as Y from 'yjs';

export const AUTHOR = 'yjs-node';
export const NOW = '2026-11-23T09:30:00+08:00';

export function authHeaders(token, extra = {}) {
  return { Authorization: `Bearer ${token}`, ...extra };
}

// Server may answer with JSON or plain text; the Python test gets whichever it was.
export function parseBody(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function getBytes(url, token) {
  const res = await fetch(url, { headers: authHeaders(token) });
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()) };
}

export async function postUpdate(base, token, docId, update) {
  const res = await fetch(`${base}/docs/${encodeURIComponent(docId)}/update`, {
    method: 'POST',
    headers: authHeaders(token, { 'Content-Type': 'application/octet-stream' }),
    body: update,
  });
  return { status: res.status, body: parseBody(await res.text()) };
}

// Full fetch, then an incremental round against the server's state vector.
// After the full fetch the diff carries no new structs, but Yjs diffs always
// include the whole delete set, so it is only 2 bytes for a doc without
// deletions (overwriting a map key deletes). diffNoop reports whether applying
// it left the encoded state unchanged, which holds either way.
export async function fetchDoc(base, token, docId) {
  const docUrl = `${base}/docs/${encodeURIComponent(docId)}`;
  const doc = new Y.Doc();
  const full = await getBytes(`${docUrl}/update`, token);
  if (full.status !== 200) {
    return { doc, status: full.status, serverSvBytes: null, diffBytes: null, diffNoop: null };
  }
  Y.applyUpdate(doc, full.bytes);

  const sv = await getBytes(`${docUrl}/state`, token);
  // Node's base64url encoding omits padding, as the server contract expects.
  const localSv = Buffer.from(Y.encodeStateVector(doc)).toString('base64url');
  const diff = await getBytes(`${docUrl}/update?sv=${localSv}`, token);
  let diffNoop = null;
  if (diff.status === 200) {
    const before = Y.encodeStateAsUpdate(doc);
    Y.applyUpdate(doc, diff.bytes);
    diffNoop = Buffer.from(before).equals(Y.encodeStateAsUpdate(doc));
  }

  return {
    doc,
    status: full.status,
    serverSvBytes: sv.status === 200 ? sv.bytes.length : null,
    diffBytes: diff.status === 200 ? diff.bytes.length : null,
    diffNoop,
  };
}

// toJSON() recurses into nested Y types, so notes entries come out as plain objects.
export function content(doc) {
  return {
    meta: doc.getMap('meta').toJSON(),
    fields: doc.getMap('fields').toJSON(),
    log: doc.getArray('log').toJSON(),
    notes: doc.getArray('notes').toJSON(),
  };
}

export function logEntry(f, v, prev = []) {
  return { id: crypto.randomUUID(), f, v, by: AUTHOR, at: NOW, prev };
}

export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

export function usage(argv, names) {
  if (argv.length !== names.length) {
    process.stderr.write(`usage: node ${process.argv[1]} ${names.map((n) => `<${n}>`).join(' ')}\n`);
    process.exit(2);
  }
  return argv;
}

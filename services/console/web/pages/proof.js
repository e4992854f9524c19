// Proof: verify in this browser that an event is in the ledger's Merkle tree under a trusted
// head (the server's current head, or one saved earlier with `lodectl head --json`), and show
// who attested it, read from the proven leaf bytes. The proof is shown as received and can be
// edited: a changed byte makes the verification fail.
import {ledger} from '../api.js';
import {decodeEvent, decodeLeaf, fromBase64, hex, verifyConsistency, verifyInclusion} from '../merkle.js';
import {errorBox, field, h, table} from '../util.js';
import {submitTo} from './common.js';

export const name = 'proof';

export async function render(_, query, info) {
  if (!info.ledger) {
    return {title: 'Proof', slug: 'proof', node: h('p', {}, 'This service has no ledger: proofs are served by the ledger (lodestone-server).')};
  }
  const eventId = query.get('event') || '';
  const form = h('form.controls', {'aria-label': 'Event to verify'},
      field('Event id', h('input', {name: 'event', value: eventId, required: true, size: 32, autocomplete: 'off'})),
      field('Trusted head (JSON of lodectl head --json; empty: the server\'s current head)',
            h('textarea', {name: 'head', rows: 3, cols: 60}, query.get('head') || '')),
      h('button', {type: 'submit'}, 'Verify'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitTo(form, '/proof');
  });
  const node = h('div', {}, h('h1', {}, 'Proof of inclusion'),
                 h('p.muted', {}, 'The proof is checked here, with the browser\'s own SHA-256 (RFC 9162): the server is not trusted.'),
                 form);
  if (!eventId) return {title: 'Proof', slug: 'proof', node};

  const current = await ledger('GetHead', {});
  let trusted = current;
  const headText = (query.get('head') || '').trim();
  if (headText) {
    try {
      trusted = JSON.parse(headText);
    } catch {
      node.append(errorBox({title: 'The trusted head is not JSON'}));
      return {title: 'Proof', slug: 'proof', node};
    }
  }
  const stored = await ledger('GetEvent', {eventId});
  const size = Number(trusted.size || 0);
  if (Number(stored.position || 0) >= size) {
    node.append(errorBox({title: 'After the trusted head', detail: `event ${eventId} is at position ${stored.position || 0}, the trusted head has ${size} events: save a newer head`}));
    return {title: 'Proof', slug: 'proof', node};
  }
  const proof = await ledger('GetInclusionProof', {position: stored.position || '0', treeSize: String(size)});
  const consistency = size < Number(current.size) ?
      await ledger('GetConsistencyProof', {oldSize: String(size), newSize: current.size}) : null;
  const editor = h('textarea#proof-json', {rows: 12, cols: 80, spellcheck: 'false', 'aria-describedby': 'proof-help'},
                   JSON.stringify(proof, null, 2));
  const outcome = h('div.outcome', {'aria-live': 'polite'});
  const verify = async () => {
    outcome.replaceChildren(await check(eventId, editor.value, trusted, current, consistency, stored));
  };
  node.append(
      h('section', {'aria-labelledby': 'head-h'}, h('h2#head-h', {}, 'Trusted head'),
        table('Trusted head', ['tree size', 'root hash (hex)', 'time', 'source'],
              [[String(size), hex(fromBase64(trusted.rootHash)), trusted.time || '', headText ? 'pasted' : 'the server\'s current head']]),
        h('details', {}, h('summary', {}, 'The current head as JSON (save it; paste it later to check that the ledger still extends it)'),
          h('pre.head-json', {}, JSON.stringify({size: current.size, rootHash: current.rootHash, chainHash: current.chainHash, time: current.time})))),
      outcome,
      h('section', {'aria-labelledby': 'raw-h'}, h('h2#raw-h', {}, 'The proof as received'),
        h('p#proof-help.muted', {}, 'Edit it (a hash of the path, the leaf bytes) and verify again to see a tampered proof fail.'),
        field('Inclusion proof (proto3 JSON, bytes in base64)', editor),
        h('button#verify-again', {type: 'button', on: {click: verify}}, 'Verify this proof')));
  await verify();
  return {title: `Proof of ${eventId}`, slug: `proof-${eventId}`, node};
}

async function check(eventId, proofText, trusted, current, consistency, stored) {
  const lines = [];
  let ok = true;
  const line = (good, text) => {
    ok = ok && good;
    lines.push(h('li', {class: good ? 'ok' : 'bad'}, h('strong', {}, good ? 'OK ' : 'FAILED '), text));
  };
  let proof;
  try {
    proof = JSON.parse(proofText);
  } catch {
    return h('div.verdict.bad', {'data-verified': 'false', role: 'status'}, 'FAILED: the proof is not JSON');
  }
  let leaf = null;
  let event = null;
  try {
    const size = Number(trusted.size || 0);
    const position = Number(proof.position || 0);
    if (Number(proof.treeSize || 0) !== size) line(false, `the proof is for tree size ${proof.treeSize}, not the trusted head's ${size}`);
    leaf = fromBase64(proof.leafData);
    const result = await verifyInclusion(position, size, leaf, (proof.path || []).map(fromBase64), fromBase64(trusted.rootHash));
    line(result.ok, result.ok ? `position ${position} is in the trusted tree of size ${size} with these leaf bytes (root recomputed: ${hex(result.computedRoot).slice(0, 16)}…)` :
                                `position ${position} is NOT proven in the trusted tree: ${result.reason}`);
    const decoded = decodeLeaf(leaf);
    line(Number(decoded.position) === position, `the leaf names position ${decoded.position}`);
    event = decodeEvent(decoded.payload);
    line(decoded.eventId === eventId && event.eventId === eventId, `the proven leaf holds event ${decoded.eventId}`);
    leaf = decoded;
  } catch (error) {
    line(false, `the proof cannot be read: ${error.message}`);
  }
  if (consistency) {
    const result = await verifyConsistency(consistency.oldSize, consistency.newSize, (consistency.path || []).map(fromBase64),
                                           fromBase64(trusted.rootHash), fromBase64(current.rootHash));
    line(result.ok, result.ok ? `the ledger's current head (${current.size}) extends the trusted head` : `the current head does NOT extend the trusted head: ${result.reason}`);
  }
  const children = [h('ul.checks', {}, lines)];
  if (leaf && event) {
    const commit = new Date(Number(leaf.commitMicros / 1000n)).toISOString();
    const signed = event.keyId ? `signed with key ${event.keyId}` : 'unsigned';
    children.push(table(ok ? 'The proven event (read from the leaf bytes)' : 'The event in these leaf bytes: NOT proven, do not rely on it', ['field', 'value'], [
      ['event id', event.eventId], ['kind', event.kind], ['subject', event.subject], ['actor', event.actor],
      ['attested by', event.attestedBy || '(none: committed before attestation existed)'],
      ['signature key id', event.keyId || '(unsigned)'],
      ['signature', event.signature ? `${hex(event.signature).slice(0, 32)}…` : ''],
      ['position', String(leaf.position)], ['stream version', String(leaf.streamVersion)], ['committed', commit],
    ], {class: 'proven'}));
    children.push(h('p.muted', {}, event.attestedBy ? `Attested by ${event.attestedBy}, ${signed}. ` : '',
                    event.keyId ? 'The signature itself is checked by `lodectl verify event`, which also proves the key\'s registration.' : ''));
    if ((stored.event || {}).attestedBy !== undefined && stored.event.attestedBy !== event.attestedBy) {
      children.push(h('p.bad', {}, 'The server\'s GetEvent answer names another attester than the proven bytes.'));
    }
  }
  return h('div', {class: ok ? 'verdict ok' : 'verdict bad', 'data-verified': String(ok), role: 'status'},
           h('p.big', {}, ok ? 'Verified' : 'NOT verified'), children);
}

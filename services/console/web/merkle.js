// Client-side verification of the ledger's proofs with WebCrypto SHA-256: RFC 9162 section
// 2.1.3.2 (inclusion) and 2.1.4.2 (consistency), leaf hash H(0x00 || leaf), node hash
// H(0x01 || left || right). The server is not trusted: everything is recomputed here.
// Also reads the leaf bytes (storage/FORMAT.md, "Leaf bytes") and the lodestone.v1.Event they
// hold (protobuf wire format), so that what is shown is what was proven.

export function fromBase64(text) {
  const binary = atob(text || '');
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function hex(bytes) {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(text) {
  const clean = text.trim().toLowerCase();
  if (!/^([0-9a-f]{2})*$/.test(clean)) throw new Error('not hexadecimal');
  return new Uint8Array(clean.match(/../g)?.map((b) => parseInt(b, 16)) || []);
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function sha256(...parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const data = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

export const leafHash = (leaf) => sha256(Uint8Array.of(0), leaf);
const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

// RFC 9162 2.1.3.2. Returns {ok, reason, computedRoot}.
export async function verifyInclusion(index, treeSize, leaf, path, root) {
  if (!(index < treeSize)) return {ok: false, reason: `position ${index} is not below the tree size ${treeSize}`};
  let fn = BigInt(index);
  let sn = BigInt(treeSize) - 1n;
  let r = await leafHash(leaf);
  for (const p of path) {
    if (p.length !== 32) return {ok: false, reason: 'a proof hash is not 32 bytes'};
    if (sn === 0n) return {ok: false, reason: 'the proof is longer than the tree is deep'};
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return {ok: false, reason: 'the proof is shorter than the tree is deep', computedRoot: r};
  if (!equal(r, root)) return {ok: false, reason: 'the computed root differs from the trusted root', computedRoot: r};
  return {ok: true, computedRoot: r};
}

// RFC 9162 2.1.4.2. Returns {ok, reason}.
export async function verifyConsistency(first, second, path, firstRoot, secondRoot) {
  first = BigInt(first);
  second = BigInt(second);
  if (first > second) return {ok: false, reason: 'the old size is larger than the new one'};
  if (first === second) {
    return path.length === 0 && equal(firstRoot, secondRoot) ? {ok: true} : {ok: false, reason: 'equal sizes, different roots'};
  }
  if (first === 0n) return path.length === 0 ? {ok: true} : {ok: false, reason: 'a proof from the empty tree must be empty'};
  if (!path.length) return {ok: false, reason: 'empty proof'};
  if ((first & (first - 1n)) === 0n) path = [firstRoot, ...path];
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) return {ok: false, reason: 'the proof is too long'};
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return {ok: false, reason: 'the proof is too short'};
  if (!equal(fr, firstRoot)) return {ok: false, reason: 'the old root does not follow from the proof'};
  if (!equal(sr, secondRoot)) return {ok: false, reason: 'the new root does not follow from the proof'};
  return {ok: true};
}

// The leaf bytes: 0x01, BE64 position, BE64 commit micros, BE64 stream version, then
// BE32-length-prefixed event id, subject and payload. Throws on a malformed leaf.
export function decodeLeaf(leaf) {
  const view = new DataView(leaf.buffer, leaf.byteOffset, leaf.byteLength);
  let offset = 0;
  const need = (n) => {
    if (offset + n > leaf.length) throw new Error('the leaf is truncated');
  };
  need(25);
  if (leaf[0] !== 1) throw new Error(`unknown leaf format ${leaf[0]}`);
  const position = view.getBigUint64(1);
  const commitMicros = view.getBigInt64(9);
  const streamVersion = view.getBigUint64(17);
  offset = 25;
  const chunk = () => {
    need(4);
    const length = view.getUint32(offset);
    offset += 4;
    need(length);
    const bytes = leaf.subarray(offset, offset + length);
    offset += length;
    return bytes;
  };
  const text = new TextDecoder('utf-8', {fatal: true});
  const eventId = text.decode(chunk());
  const subject = text.decode(chunk());
  const payload = chunk();
  if (offset !== leaf.length) throw new Error('bytes after the payload');
  return {position, commitMicros, streamVersion, eventId, subject, payload};
}

// Protobuf wire format: the fields of one message as [number, wireType, value] (value: BigInt
// for varints, Uint8Array for length-delimited). Throws on malformed input.
function fields(bytes) {
  const out = [];
  let i = 0;
  const varint = () => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (i >= bytes.length) throw new Error('truncated varint');
      const b = bytes[i++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
    }
    throw new Error('varint too long');
  };
  while (i < bytes.length) {
    const key = varint();
    const number = Number(key >> 3n);
    const type = Number(key & 7n);
    if (type === 0) out.push([number, type, varint()]);
    else if (type === 2) {
      const length = Number(varint());
      if (i + length > bytes.length) throw new Error('truncated field');
      out.push([number, type, bytes.subarray(i, i + length)]);
      i += length;
    } else if (type === 1) {
      i += 8;
    } else if (type === 5) {
      i += 4;
    } else {
      throw new Error(`unsupported wire type ${type}`);
    }
  }
  return out;
}

const PAYLOADS = {
  10: 'party_registered', 11: 'facility_registered', 12: 'lot_extracted', 13: 'lot_registered',
  14: 'lot_transformed', 15: 'shipment_dispatched', 16: 'shipment_arrived', 17: 'export_licence_granted',
  18: 'event_retracted', 19: 'role_granted', 20: 'role_revoked', 21: 'signing_key_registered', 22: 'signing_key_revoked',
};

// The envelope of a lodestone.v1.Event (events.proto): ids, actor, attester, payload kind,
// signature key id.
export function decodeEvent(payload) {
  const text = new TextDecoder('utf-8', {fatal: true});
  const event = {eventId: '', subject: '', actor: '', attestedBy: '', kind: '', keyId: '', signature: null, eventSeconds: null};
  for (const [number, type, value] of fields(payload)) {
    if (type === 2 && number === 1) event.eventId = text.decode(value);
    else if (type === 2 && number === 2) {
      for (const [n, t, v] of fields(value)) if (n === 1 && t === 0) event.eventSeconds = v;
    } else if (type === 2 && number === 3) event.subject = text.decode(value);
    else if (type === 2 && number === 4) event.actor = text.decode(value);
    else if (type === 2 && number === 5) event.attestedBy = text.decode(value);
    else if (PAYLOADS[number]) event.kind = PAYLOADS[number];
    else if (type === 2 && number === 100) {
      for (const [n, t, v] of fields(value)) {
        if (n === 1 && t === 2) event.keyId = text.decode(v);
        if (n === 2 && t === 2) event.signature = v;
      }
    }
  }
  return event;
}

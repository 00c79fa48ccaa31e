// Base64 to and from bytes, once: the demo catalog's descriptors, the export's descriptors and
// weights all travel as base64 text in JSON.

/** Base64 of `bytes` (a Uint8Array), in chunks: one spread of a whole descriptor or model file
 * would exceed the engine's argument limit. */
export function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** The bytes of base64 `text` (throws on text that is not base64). */
export function fromBase64(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

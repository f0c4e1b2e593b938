// Ids are written as ASCII into a scratch buffer and read out as one string.
// Joining their pieces with `+` (as node:crypto's randomUUID does) makes a
// rope of a node per piece: about 1 KiB of heap for a 40-character id, which
// every reader (a Map lookup, a header check, JSON) flattens again.

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/** Writes `byte` (its low 8 bits) as two lowercase hex digits into `text` at `at`. */
export function writeHex(text: Buffer, byte: number, at: number): void {
  text[at] = HEX_DIGITS[(byte >>> 4) & 0xf] as number;
  text[at + 1] = HEX_DIGITS[byte & 0xf] as number;
}

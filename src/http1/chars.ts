/**
 * Byte classes of HTTP/1.1 syntax (RFC 9110 §5.6.2, §5.5; RFC 9112 §3) as lookup tables, so
 * the parsers test a byte with one array load instead of a chain of comparisons or a regex.
 *
 * @module
 */

/** Carriage return. */
export const CR = 0x0d;
/** Line feed. */
export const LF = 0x0a;
/** Space. */
export const SP = 0x20;
/** Horizontal tab. */
export const HTAB = 0x09;
/** `:` */
export const COLON = 0x3a;

/** 1 for `tchar` (RFC 9110 §5.6.2): the bytes of methods, header names and codings. */
export const TCHAR: Uint8Array = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

/**
 * Classes of bytes inside a field value (RFC 9110 §5.5): 1 = VCHAR, SP or HTAB; 2 = obs-text
 * (0x80-0xFF), allowed but opaque; 0 = CR, LF, NUL, the other controls and DEL, not allowed.
 */
export const FIELD_VALUE_CHAR: Uint8Array = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) FIELD_VALUE_CHAR[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE_CHAR[c] = 2;
FIELD_VALUE_CHAR[SP] = 1;
FIELD_VALUE_CHAR[HTAB] = 1;

/**
 * Classes of request-target bytes: 1 = visible ASCII, taken as is; 2 = obs-text (0x80-0xFF),
 * percent-encoded by the parser; 0 = controls, SP and DEL, which end or invalidate the target.
 */
export const TARGET_CHAR: Uint8Array = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET_CHAR[c] = 1;
for (let c = 0x80; c <= 0xff; c++) TARGET_CHAR[c] = 2;

/** ASCII lower-casing table (other bytes map to themselves). */
export const LOWER: Uint8Array = new Uint8Array(256);
for (let c = 0; c < 256; c++) LOWER[c] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;

/** Value of a hex digit, or 255 for any other byte. */
export const HEX_VALUE: Uint8Array = new Uint8Array(256).fill(255);
for (let c = 0; c <= 9; c++) HEX_VALUE[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX_VALUE[0x41 + c] = 10 + c;
  HEX_VALUE[0x61 + c] = 10 + c;
}

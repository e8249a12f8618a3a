import { StorageError } from './errors.ts';

/**
 * The one mapping between user metadata as the engine carries it (any Unicode name and value, as
 * GCS allows) and what each store can hold. Every adapter applies it on write and undoes it on
 * read, so metadata survives a trip through any store and back, and a migration from one
 * provider to another keeps it. docs/interoperability.md ("Metadata across providers") documents it for users.
 *
 * Names (S3 and Azure; GCS stores names as they are):
 * - A character the store cannot hold in a name becomes `_xHHHH_` (its code point in hex, four
 *   digits, or eight above U+FFFF) — the escape .NET's XmlConvert.EncodeName and SharePoint use.
 *   `original-name` is stored on Azure as `original_x002d_name`.
 * - A `_` that starts something looking like such an escape is itself escaped (`_x005f_`), so
 *   every name decodes back to exactly itself; an ordinary `_` stays as it is.
 * - S3 and Azure compare names ignoring case and hand them back in lower case (S3 always; Azure
 *   through its HTTP headers), so names are lower-cased there on write and read: the one loss.
 *   Two names that differ only in case cannot be stored side by side: such a write fails.
 * Values (S3 and Azure, which carry them as HTTP headers): a value that is not printable ASCII,
 * is empty, has leading or trailing white space, or itself looks like an encoded word becomes
 * RFC 2047 encoded words (`=?UTF-8?B?...?=`), which S3 itself understands. GCS stores values as
 * they are.
 * Bookkeeping names (mtime, md5chksum, ...) belong to the adapter: a user entry that would be
 * stored under one of them is dropped on write and never returned on read.
 */
export interface MetadataRules {
  /** For messages: 'S3', 'Azure Blob', 'GCS'. */
  readonly store: string;
  /** Whether names are escaped at all; false keeps every name as it is. */
  readonly escapeNames: boolean;
  /** A character (one code point) the store keeps as it is in a name. */
  readonly nameChar: (char: string) => boolean;
  /** A character that cannot begin a name even though it may appear later in one. */
  readonly badFirstChar: (char: string) => boolean;
  /** Names are compared ignoring case and kept in lower case. */
  readonly lowerCaseNames: boolean;
  /** Values travel as HTTP header values (ASCII, trimmed, dropped when empty): RFC 2047 where needed. */
  readonly headerValues: boolean;
}

/** HTTP header token characters (RFC 9110), lower case: what an `x-amz-meta-` name can hold. */
const S3_NAME_CHAR = /^[a-z0-9!#$%&'*+.^_`|~-]$/;
/** C# identifier characters, ASCII only since names are HTTP header names. */
const AZURE_NAME_CHAR = /^[A-Za-z0-9_]$/;

export const S3_METADATA: MetadataRules = Object.freeze({
  store: 'S3',
  escapeNames: true,
  nameChar: (c: string) => S3_NAME_CHAR.test(c),
  badFirstChar: () => false,
  lowerCaseNames: true,
  headerValues: true,
});

export const AZURE_METADATA: MetadataRules = Object.freeze({
  store: 'Azure Blob',
  escapeNames: true,
  nameChar: (c: string) => AZURE_NAME_CHAR.test(c),
  badFirstChar: (c: string) => c >= '0' && c <= '9',
  lowerCaseNames: true,
  headerValues: true,
});

export const GCS_METADATA: MetadataRules = Object.freeze({
  store: 'GCS',
  escapeNames: false,
  nameChar: () => true,
  badFirstChar: () => false,
  lowerCaseNames: false,
  headerValues: false,
});

const ESCAPE_AHEAD = /^_x(?:[0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})_/;
/** For stores that lower-case names, `_X0041_` would become an escape once folded: check it folded. */
const ESCAPE_AHEAD_FOLDED = /^_[xX](?:[0-9A-Fa-f]{4}|[0-9A-Fa-f]{8})_/;
const ESCAPES = /_x([0-9A-Fa-f]{8}|[0-9A-Fa-f]{4})_/g;

function escapeOf(codePoint: number): string {
  return `_x${codePoint.toString(16).toUpperCase().padStart(codePoint > 0xffff ? 8 : 4, '0')}_`;
}

/** The name to store for `name` under `rules`. */
export function encodeMetadataName(rules: MetadataRules, name: string): string {
  if (!rules.escapeNames) return name;
  let out = '';
  let first = true;
  for (let i = 0; i < name.length; ) {
    const codePoint = name.codePointAt(i) ?? 0;
    const char = String.fromCodePoint(codePoint);
    const folded = rules.lowerCaseNames && char >= 'A' && char <= 'Z' ? char.toLowerCase() : char;
    if (char === '_' && (rules.lowerCaseNames ? ESCAPE_AHEAD_FOLDED : ESCAPE_AHEAD).test(name.slice(i))) out += escapeOf(0x5f);
    else if (rules.nameChar(folded) && !(first && rules.badFirstChar(folded))) out += folded;
    else out += escapeOf(codePoint);
    i += char.length;
    first = false;
  }
  return rules.lowerCaseNames ? out.toLowerCase() : out;
}

/** The name a stored name stands for. Escapes decode whatever the case of their hex digits. */
export function decodeMetadataName(rules: MetadataRules, stored: string): string {
  if (!rules.escapeNames) return stored;
  const name = rules.lowerCaseNames ? stored.toLowerCase() : stored;
  return name.replace(ESCAPES, (escape, hex: string) => {
    const codePoint = Number.parseInt(hex, 16);
    if (hex.length === 4) return String.fromCharCode(codePoint);
    return codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : escape;
  });
}

/** One or more RFC 2047 encoded words separated by white space, and nothing else. */
const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;
const ENCODED_WORDS = /^=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=(?:[ \t]+=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)*$/;
const PLAIN_HEADER_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)$/;
/** UTF-8 bytes per encoded word: 45 bytes are 60 base64 characters, a word of 72 (RFC 2047 allows 75). */
const WORD_BYTES = 45;

/** The value to store for `value` under `rules`. */
export function encodeMetadataValue(rules: MetadataRules, value: string): string {
  if (!rules.headerValues) return value;
  if (PLAIN_HEADER_VALUE.test(value) && !ENCODED_WORDS.test(value)) return value;
  if (value === '') return '=?UTF-8?B??=';
  const words: string[] = [];
  let chunk: Buffer[] = [];
  let bytes = 0;
  for (const char of value) {
    const encoded = Buffer.from(char, 'utf8');
    if (bytes + encoded.length > WORD_BYTES) {
      words.push(Buffer.concat(chunk).toString('base64'));
      chunk = [];
      bytes = 0;
    }
    chunk.push(encoded);
    bytes += encoded.length;
  }
  words.push(Buffer.concat(chunk).toString('base64'));
  return words.map((word) => `=?UTF-8?B?${word}?=`).join(' ');
}

const CHARSETS: Readonly<Record<string, BufferEncoding>> = { 'utf-8': 'utf8', utf8: 'utf8', 'us-ascii': 'latin1', 'iso-8859-1': 'latin1' };

/** The value a stored value stands for: encoded words in a known charset decoded, anything else as it is. */
export function decodeMetadataValue(rules: MetadataRules, stored: string): string {
  if (!rules.headerValues || !ENCODED_WORDS.test(stored.trim())) return stored;
  const parts: Buffer[] = [];
  let charset: BufferEncoding | undefined;
  for (const [, name = '', kind = '', text = ''] of stored.trim().matchAll(ENCODED_WORD)) {
    // RFC 2231 allows a language after '*' (UTF-8*en); it says nothing about the bytes.
    const wordCharset = CHARSETS[name.toLowerCase().split('*')[0] ?? ''];
    if (wordCharset === undefined || (charset !== undefined && wordCharset !== charset)) return stored;
    charset = wordCharset;
    parts.push(kind.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeQ(text));
  }
  return Buffer.concat(parts).toString(charset);
}

function decodeQ(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const hex = text.slice(i + 1, i + 3);
    if (c === '_') bytes.push(0x20);
    else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else bytes.push(c.charCodeAt(0) & 0xff);
  }
  return Buffer.from(bytes);
}

/** The standard properties, as WriteInfo and CopyInfo carry them. */
export interface StandardProperties {
  readonly contentType?: string | undefined;
  readonly cacheControl?: string | undefined;
  readonly contentEncoding?: string | undefined;
  readonly contentDisposition?: string | undefined;
}

/** The standard properties a copy ends with: each one `changes` gives, the source's otherwise. */
export function copiedProperties(changes: StandardProperties | undefined, source: StandardProperties): StandardProperties {
  return {
    contentType: changes?.contentType ?? source.contentType,
    cacheControl: changes?.cacheControl ?? source.cacheControl,
    contentEncoding: changes?.contentEncoding ?? source.contentEncoding,
    contentDisposition: changes?.contentDisposition ?? source.contentDisposition,
  };
}

const HEADER_TEXT = /^[\t\x20-\x7e]*$/;

/**
 * S3 and Azure carry the standard properties as HTTP headers, which hold ASCII only (a GCS
 * object may have `filename="東京.txt"` in its Content-Disposition). Such a value fails the
 * write here, before anything is sent, with a message that says which and why; the properties
 * are not rewritten behind the caller's back.
 */
export function checkStandardProperties(rules: MetadataRules, properties: StandardProperties, key?: string): void {
  if (!rules.headerValues) return;
  const fields: [string, string | undefined][] = [
    ['content type', properties.contentType],
    ['cache-control', properties.cacheControl],
    ['content encoding', properties.contentEncoding],
    ['content disposition', properties.contentDisposition],
  ];
  for (const [field, value] of fields) {
    if (value !== undefined && !HEADER_TEXT.test(value)) {
      throw new StorageError('Fatal', `${key ?? 'object'}: the ${field} ${JSON.stringify(value)} cannot be stored on ${rules.store}, whose properties are HTTP headers (ASCII only)`, {
        key,
        retryable: false,
      });
    }
  }
}

/**
 * The user metadata to store next to the adapter's bookkeeping entries (`reserved`, in the form
 * they are stored): names and values encoded, entries that would land on a reserved name dropped
 * (the adapter's own value wins). Two names that would be stored alike fail the write, naming both.
 */
export function metadataForStore(
  rules: MetadataRules,
  metadata: Readonly<Record<string, string>> | undefined,
  reserved: readonly string[],
  key?: string,
): Record<string, string> {
  const out = new Map<string, string>();
  const origin = new Map<string, string>();
  const comparable = (name: string): string => (rules.lowerCaseNames ? name.toLowerCase() : name);
  const taken = new Set(reserved.map(comparable));
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (name === '') throw new StorageError('Fatal', `${key ?? 'object'}: a metadata name cannot be empty on ${rules.store}`, { key });
    const stored = encodeMetadataName(rules, name);
    const id = comparable(stored);
    if (taken.has(id)) continue;
    const earlier = origin.get(id);
    if (earlier !== undefined) {
      throw new StorageError(
        'Fatal',
        `${key ?? 'object'}: metadata names "${earlier}" and "${name}" would both be stored as "${stored}" on ${rules.store}, which ignores case in names`,
        { key },
      );
    }
    origin.set(id, name);
    out.set(stored, encodeMetadataValue(rules, value));
  }
  // fromEntries, not assignment: a name like `__proto__` must become an entry, not a prototype.
  return Object.fromEntries(out);
}

/** The user metadata a stored map stands for: bookkeeping entries (`reserved`) left out, the rest decoded. */
export function metadataFromStore(
  rules: MetadataRules,
  stored: Readonly<Record<string, string>> | undefined,
  reserved: readonly string[],
): Record<string, string> {
  const comparable = (name: string): string => (rules.lowerCaseNames ? name.toLowerCase() : name);
  const skip = new Set(reserved.map(comparable));
  const out = new Map<string, string>();
  for (const [name, value] of Object.entries(stored ?? {})) {
    if (skip.has(comparable(name))) continue;
    const decoded = decodeMetadataName(rules, name);
    // Two stored names for one decoded name (another tool wrote both): the first one stays.
    if (!out.has(decoded)) out.set(decoded, decodeMetadataValue(rules, value));
  }
  return Object.fromEntries(out);
}

import { describe, expect, it } from 'vitest';
import { StorageError } from '../../adapters/errors.ts';
import {
  AZURE_METADATA,
  GCS_METADATA,
  checkStandardProperties,
  S3_METADATA,
  decodeMetadataName,
  decodeMetadataValue,
  encodeMetadataName,
  encodeMetadataValue,
  metadataForStore,
  metadataFromStore,
  type MetadataRules,
} from '../../adapters/metadata-names.ts';

/** What a store that ignores case gives back: ASCII letters lower-cased, nothing else touched. */
const foldAscii = (name: string): string => name.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** The names each store accepts: x-amz-meta- header tokens, C# identifiers. */
const STORABLE: ReadonlyArray<[MetadataRules, RegExp]> = [
  [S3_METADATA, /^[a-z0-9!#$%&'*+.^_`|~-]+$/],
  [AZURE_METADATA, /^[A-Za-z_][A-Za-z0-9_]*$/],
];

function roundTripName(rules: MetadataRules, name: string): string {
  return decodeMetadataName(rules, encodeMetadataName(rules, name));
}

describe('metadata names', () => {
  it('keeps the names S3 can hold, lower-cases ASCII letters and escapes the rest', () => {
    expect(encodeMetadataName(S3_METADATA, 'original-name')).toBe('original-name');
    expect(encodeMetadataName(S3_METADATA, 'Upper-Case')).toBe('upper-case');
    expect(encodeMetadataName(S3_METADATA, 'with space')).toBe('with_x0020_space');
    expect(encodeMetadataName(S3_METADATA, 'colon:slash/')).toBe('colon_x003a_slash_x002f_');
    expect(encodeMetadataName(S3_METADATA, 'café')).toBe('caf_x00e9_');
    expect(encodeMetadataName(S3_METADATA, 'Émoji🎉')).toBe('_x00c9_moji_x0001f389_');
    expect(roundTripName(S3_METADATA, 'Émoji🎉')).toBe('Émoji🎉');
  });

  it('turns names into C# identifiers for Azure: "-" and a leading digit escaped, "_" kept', () => {
    expect(encodeMetadataName(AZURE_METADATA, 'original-name')).toBe('original_x002d_name');
    expect(decodeMetadataName(AZURE_METADATA, 'original_x002d_name')).toBe('original-name');
    expect(decodeMetadataName(AZURE_METADATA, 'Original_x002D_Name')).toBe('original-name');
    expect(encodeMetadataName(AZURE_METADATA, '1st')).toBe('_x0031_st');
    expect(encodeMetadataName(AZURE_METADATA, 'plain_under_score')).toBe('plain_under_score');
    expect(encodeMetadataName(AZURE_METADATA, 'hdi_isfolder')).toBe('hdi_isfolder');
  });

  it('escapes a "_" only where it would read as an escape, so every name decodes to itself', () => {
    expect(encodeMetadataName(AZURE_METADATA, 'a_x002D_b')).toBe('a_x005f_x002d_b');
    expect(roundTripName(AZURE_METADATA, 'a_x002D_b')).toBe('a_x002d_b');
    // Upper-case X becomes an escape once folded: escaped as well.
    expect(roundTripName(S3_METADATA, 'a_X0041_b')).toBe('a_x0041_b');
    expect(roundTripName(AZURE_METADATA, '_x00410042_')).toBe('_x00410042_');
    expect(roundTripName(AZURE_METADATA, '-x0041_')).toBe('-x0041_');
    expect(roundTripName(AZURE_METADATA, '_x12_')).toBe('_x12_');
  });

  it('keeps names as they are on GCS', () => {
    for (const name of ['original-name', 'Upper-Case', 'with space', 'a_x002D_b', 'Émoji🎉']) {
      expect(encodeMetadataName(GCS_METADATA, name)).toBe(name);
      expect(decodeMetadataName(GCS_METADATA, name)).toBe(name);
    }
  });

  it('round-trips random names on every store, and stores only names the store accepts', () => {
    const pool = ['_', 'x', 'X', '0', '4', '1', 'a', 'F', 'z', '-', '.', ' ', ':', 'é', 'ß', '東', '🎉', '\u0301'];
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const name = Array.from({ length: 1 + random(12) }, () => pool[random(pool.length)]).join('');
      for (const [rules, storable] of STORABLE) {
        const stored = encodeMetadataName(rules, name);
        expect(stored).toMatch(storable);
        expect(decodeMetadataName(rules, stored)).toBe(foldAscii(name));
      }
      expect(roundTripName(GCS_METADATA, name)).toBe(name);
    }
  });
});

describe('metadata values', () => {
  it('keeps printable ASCII as it is on S3 and Azure', () => {
    for (const rules of [S3_METADATA, AZURE_METADATA]) {
      expect(encodeMetadataValue(rules, 'Report 2024.pdf')).toBe('Report 2024.pdf');
      expect(encodeMetadataValue(rules, 'a=b; c="d"')).toBe('a=b; c="d"');
    }
  });

  it('encodes non-ASCII, empty, padded and encoded-looking values as RFC 2047 words, and decodes them', () => {
    expect(encodeMetadataValue(S3_METADATA, 'Grüße')).toBe('=?UTF-8?B?R3LDvMOfZQ==?=');
    const values = ['Grüße aus Köln — 東京 🎉', '', '  padded  ', 'tab\tinside', 'line\nbreak', '=?UTF-8?B?SGk=?=', '=?x?Q?y?= =?x?Q?y?='];
    for (const rules of [S3_METADATA, AZURE_METADATA]) {
      for (const value of values) {
        const stored = encodeMetadataValue(rules, value);
        expect(stored).toMatch(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/); // a header value that survives trimming
        expect(decodeMetadataValue(rules, stored)).toBe(value);
      }
    }
  });

  it('splits long values into encoded words of at most 75 characters, never inside a character', () => {
    const value = '東京🎉'.repeat(40);
    const stored = encodeMetadataValue(S3_METADATA, value);
    const words = stored.split(' ');
    expect(words.length).toBeGreaterThan(1);
    for (const word of words) expect(word.length).toBeLessThanOrEqual(75);
    for (const word of words) expect(decodeMetadataValue(S3_METADATA, word)).not.toContain('\ufffd');
    expect(decodeMetadataValue(S3_METADATA, stored)).toBe(value);
  });

  it('decodes what S3 or another tool may send back: Q encoding, lower-case charset, several words', () => {
    expect(decodeMetadataValue(S3_METADATA, '=?utf-8?Q?Gr=C3=BC=C3=9Fe_x?=')).toBe('Grüße x');
    expect(decodeMetadataValue(S3_METADATA, '=?UTF-8?B?R3LDvA==?= =?UTF-8?B?w59l?=')).toBe('Grüße');
    expect(decodeMetadataValue(S3_METADATA, '=?ISO-8859-1?Q?caf=E9?=')).toBe('café');
    // Unknown charsets and text around encoded words stay as they are.
    expect(decodeMetadataValue(S3_METADATA, '=?KOI8-R?B?wtPF?=')).toBe('=?KOI8-R?B?wtPF?=');
    expect(decodeMetadataValue(S3_METADATA, 'see =?UTF-8?B?SGk=?=')).toBe('see =?UTF-8?B?SGk=?=');
  });

  it('keeps values as they are on GCS', () => {
    for (const value of ['Grüße', '', '  padded  ', '=?UTF-8?B?SGk=?=']) {
      expect(encodeMetadataValue(GCS_METADATA, value)).toBe(value);
      expect(decodeMetadataValue(GCS_METADATA, value)).toBe(value);
    }
  });
});

describe('metadata maps', () => {
  it('drops user entries stored under a bookkeeping name (the adapter’s own value wins), ignoring case where the store does', () => {
    expect(metadataForStore(S3_METADATA, { MTime: 'x', owner: 'me' }, ['mtime', 'md5chksum'])).toEqual({ owner: 'me' });
    expect(metadataForStore(AZURE_METADATA, { MTIME: 'x', owner: 'me' }, ['mtime'])).toEqual({ owner: 'me' });
    expect(metadataForStore(GCS_METADATA, { MTime: 'x', mtime: 'y', owner: 'me' }, ['mtime'])).toEqual({ MTime: 'x', owner: 'me' });
  });

  it('refuses two names that one store would keep as one, and an empty name', () => {
    const clash = (): unknown => metadataForStore(AZURE_METADATA, { Owner: 'a', owner: 'b' }, [], 'k/one');
    expect(clash).toThrow(StorageError);
    expect(clash).toThrow(/"Owner" and "owner"/);
    try {
      clash();
    } catch (error) {
      expect(error).toMatchObject({ code: 'Fatal', retryable: false, key: 'k/one' });
    }
    expect(() => metadataForStore(S3_METADATA, { '': 'x' }, [])).toThrow(StorageError);
    expect(metadataForStore(GCS_METADATA, { Owner: 'a', owner: 'b' }, [])).toEqual({ Owner: 'a', owner: 'b' });
  });

  it('round-trips a whole map, bookkeeping entries left out on read', () => {
    const user = { 'original-name': 'Doc One.txt', Unicode: 'Grüße', '1st': '', plain_under: 'v', __proto__name: 'x' };
    for (const rules of [S3_METADATA, AZURE_METADATA]) {
      const stored = { ...metadataForStore(rules, user, ['mtime']), mtime: '1700000000' };
      expect(metadataFromStore(rules, stored, ['mtime'])).toEqual(Object.fromEntries(Object.entries(user).map(([k, v]) => [foldAscii(k), v])));
    }
    expect(metadataFromStore(GCS_METADATA, { ...metadataForStore(GCS_METADATA, user, ['mtime']), mtime: 'x' }, ['mtime'])).toEqual(user);
  });

  it('keeps a name like __proto__ as an entry, not a prototype', () => {
    const user = JSON.parse('{"__proto__": "v"}') as Record<string, string>;
    const stored = metadataForStore(GCS_METADATA, user, []);
    expect(Object.keys(stored)).toEqual(['__proto__']);
    expect(Object.keys(metadataFromStore(GCS_METADATA, stored, []))).toEqual(['__proto__']);
  });
});

describe('standard properties', () => {
  it('refuses values HTTP headers cannot carry on S3 and Azure, and keeps them on GCS', () => {
    const props = { contentType: 'text/plain', contentDisposition: 'attachment; filename="東京.txt"' };
    for (const rules of [S3_METADATA, AZURE_METADATA]) {
      expect(() => checkStandardProperties(rules, props, 'k')).toThrow(/content disposition .*東京.* HTTP headers/);
      expect(() => checkStandardProperties(rules, { contentDisposition: "attachment; filename*=UTF-8''%E6%9D%B1.txt" }, 'k')).not.toThrow();
    }
    expect(() => checkStandardProperties(GCS_METADATA, props, 'k')).not.toThrow();
  });
});

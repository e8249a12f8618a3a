import { describe, expect, it } from 'vitest';
import { codeForHttpStatus } from '../../adapters/http-status.ts';

describe('HTTP status → error code, shared by the S3, Azure and GCS mappings', () => {
  it.each([
    [401, 'AuthFailed'], [403, 'AuthFailed'], [404, 'NotFound'], [409, 'Conflict'], [412, 'Conflict'],
    [429, 'Throttled'], [503, 'Throttled'], [408, 'Transient'], [500, 'Transient'], [502, 'Transient'], [504, 'Transient'],
    [400, 'Fatal'], [405, 'Fatal'], [416, 'Fatal'],
  ] as const)('%i is %s', (status, code) => {
    expect(codeForHttpStatus(status)).toBe(code);
  });
});

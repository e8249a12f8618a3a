import { describe, expect, it } from 'vitest';
import { parseEndpoint } from '../../src/endpoints.ts';
import { UsageError } from '../../src/errors.ts';

/** The usage error parseEndpoint gives for `input`, or undefined when the endpoint is accepted. */
function refusal(input: string): string | undefined {
  try {
    parseEndpoint(input, {});
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
}

describe('bucket and container names are checked against each provider\'s rules before anything is sent', () => {
  it.each([
    ['s3://a..b', /no two dots in a row/],
    ['s3://xn--abc', /does not begin with 'xn--'/],
    ['s3://sthree-data', /does not begin with 'sthree-'/],
    ['s3://amzn-s3-demo-bucket', /does not begin with 'amzn-s3-demo-'/],
    ['s3://data-s3alias', /does not end with '-s3alias'/],
    ['s3://data--ol-s3', /does not end with '--ol-s3'/],
    ['s3://data.mrap', /does not end with '.mrap'/],
    ['s3://data--x-s3', /does not end with '--x-s3'/],
    ['s3://data--table-s3', /does not end with '--table-s3'/],
    ['s3://192.168.5.4', /not an IP address/],
    ['s3://ab', /3 to 63 characters/],
    [`s3://${'a'.repeat(64)}`, /3 to 63 characters/],
    ['s3://Data', /lower-case letters/],
    ['s3://data_x', /lower-case letters/],
    ['s3://-data', /begins and ends with a letter or digit/],
    ['gs://a..b', /no two dots in a row/],
    ['gs://goog-x', /does not begin with 'goog'/],
    ['gs://my-google-data', /'google' or a look-alike/],
    ['gs://my-g00gle-data', /'google' or a look-alike/],
    ['gs://10.0.0.1', /not an IP address/],
    ['gs://data_', /begins and ends with a letter or digit/],
    [`gs://${'a'.repeat(64)}`, /at most 63 characters/],
    [`gs://${'a'.repeat(64)}.example.com`, /at most 63 characters/],
    [`gs://${Array.from({ length: 5 }, () => 'a'.repeat(50)).join('.')}`, /222 with dots/],
    ['gs://UPPER', /lower-case letters/],
    ['azblob://a--b', /no two hyphens in a row/],
    ['azblob://data-', /begins and ends with a letter or digit/],
    ['azblob://data.x', /lower-case letters, digits and hyphens/],
    ['azblob://ab', /3 to 63 characters/],
  ])('%s is refused, naming the name and the rule', (input, rule) => {
    const message = refusal(input);
    expect(message).toMatch(rule);
    const name = input.slice(input.indexOf('://') + 3);
    expect(message).toContain(`'${name}' is not a valid`);
  });

  it.each([
    's3://my-bucket.data', 's3://a1b', `s3://${'a'.repeat(63)}`, 's3://xn-abc', 's3://data-s3',
    'gs://my_bucket-1', 'gs://example.com.data', `gs://${'a'.repeat(63)}.${'b'.repeat(63)}`, 'gs://gogle-x', 'gs://my.goo.gl',
    'azblob://my-container-1', `azblob://${'a'.repeat(63)}`,
  ])('%s is accepted', (input) => {
    expect(refusal(input)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { basicAuthOf, redactUrl, redactUrlsIn } from '../../adapters/redact-url.ts';

describe('redactUrl: no secret of a URL is printed (issue 10 item 13)', () => {
  it('hides userinfo and credential-like query values, keeps where it points', () => {
    expect(redactUrl('https://user:hunter2@hooks.example.com:8443/notify?token=t0k&channel=ops&X-Amz-Signature=abc&sig=s&api_key=k&code=c'))
      .toBe('https://***@hooks.example.com:8443/notify?token=***&channel=ops&X-Amz-Signature=***&sig=***&api_key=***&code=***');
  });

  it('leaves a URL with nothing secret exactly as written (keys with any bytes stay readable)', () => {
    expect(redactUrl('s3://bucket/naïve café.txt')).toBe('s3://bucket/naïve café.txt');
    expect(redactUrl('not a url')).toBe('not a url');
  });

  it('leaves ? and # in our own location URLs alone: they are characters of keys and folder names', () => {
    for (const text of ['s3://b/photos/what?token=1.jpg', 'gs://b/notes#1.txt', 'azblob://c/a?sig=x#y', 'file:///data/a#1', 's3://b/p?key=1@http://127.0.0.1:9000']) {
      expect(redactUrlsIn(`${text}: cannot reach`)).toBe(`${text}: cannot reach`);
    }
    expect(redactUrl('s3://user:pw@b/k?x=1')).toBe('s3://***@b/k?x=1');
    // A SAS in an https service address still goes.
    expect(redactUrlsIn('azblob://c/p#1@https://acct.blob.core.windows.net/?sv=1&sig=abc'))
      .toBe('azblob://c/p#1@https://acct.blob.core.windows.net/?sv=1&sig=***');
  });

  it('finds URLs inside messages, keeping the sentence around them', () => {
    expect(redactUrlsIn('cannot POST to http://u:p@127.0.0.1:9/h?password=pw, giving up'))
      .toBe('cannot POST to http://***@127.0.0.1:9/h?password=***, giving up');
  });

  it('judges each of two URLs joined in one word (a destination identity, bucket@service) on its own', () => {
    expect(redactUrlsIn('s3://b/p@http://user:pa55@127.0.0.1:9000')).toBe('s3://b/p@http://***@127.0.0.1:9000');
  });

  it('turns userinfo into a Basic Authorization header and a URL without it', () => {
    expect(basicAuthOf('http://alerts:p%40ss@127.0.0.1:9/hook?x=1')).toEqual({
      url: 'http://127.0.0.1:9/hook?x=1',
      authorization: `Basic ${Buffer.from('alerts:p@ss').toString('base64')}`,
    });
    expect(basicAuthOf('http://127.0.0.1:9/hook')).toEqual({ url: 'http://127.0.0.1:9/hook', authorization: undefined });
  });
});

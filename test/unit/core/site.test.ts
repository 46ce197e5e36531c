import { describe, expect, it } from 'vitest';
import {
  isInternationalName,
  isLoopbackHost,
  isPrivateHost,
  sameSite,
  siteOf,
} from '../../../src/core/site/site';

describe('siteOf: a site is a registrable domain', () => {
  it.each([
    ['https://example.com/x', 'example.com'],
    ['https://api.app.example.com:8443/v1', 'example.com'],
    ['https://shop.example.co.uk', 'example.co.uk'],
    ['https://a.b.c.example.co.uk', 'example.co.uk'],
    // github.io is a public suffix (the list's private section): each user is a site of its own.
    ['https://alice.github.io/app', 'alice.github.io'],
    ['https://x.alice.github.io', 'alice.github.io'],
    ['https://github.io', 'github.io'],
    ['http://127.0.0.1:8402/api', '127.0.0.1'],
    ['http://10.1.2.3', '10.1.2.3'],
    ['http://[::1]:3000/', '::1'],
    ['http://localhost:5173', 'localhost'],
    // International names are kept in their ASCII form, as the browser's URL parser gives them.
    ['https://пример.рф/', 'xn--e1afmkfd.xn--p1ai'],
    ['https://www.xn--pypal-4ve.com', 'xn--pypal-4ve.com'],
  ])('%s → %s', (url, site) => {
    expect(siteOf(url)).toBe(site);
  });

  it('is undefined for what is not a URL with a host', () => {
    expect(siteOf('not a url')).toBeUndefined();
    expect(siteOf('data:text/plain,x')).toBeUndefined();
  });

  it('subdomains share a site; sibling users of a public suffix do not; ports and schemes do not matter', () => {
    expect(sameSite('https://a.example.com', 'http://b.example.com:81')).toBe(true);
    expect(sameSite('https://alice.github.io', 'https://bob.github.io')).toBe(false);
    expect(sameSite('http://127.0.0.1:1', 'http://localhost:1')).toBe(false);
    expect(sameSite('https://example.co.uk', 'https://other.co.uk')).toBe(false);
  });

  it('flags international (punycode) names for a look-alike warning', () => {
    expect(isInternationalName('xn--pypal-4ve.com')).toBe(true);
    expect(isInternationalName('paypal.com')).toBe(false);
  });
});

describe('loopback and private addresses', () => {
  it.each([
    ['localhost', true, true],
    ['app.localhost', true, true],
    ['127.0.0.1', true, true],
    ['127.9.9.9', true, true],
    ['::1', true, true],
    ['10.0.0.1', false, true],
    ['172.16.0.1', false, true],
    ['172.31.255.255', false, true],
    ['172.32.0.1', false, false],
    ['192.168.1.1', false, true],
    ['169.254.169.254', false, true],
    ['100.64.0.1', false, true],
    ['0.0.0.0', false, true],
    ['fd00::1', false, true],
    ['fe80::1', false, true],
    ['::ffff:10.0.0.1', false, true],
    ['::ffff:7f00:1', false, true],
    ['8.8.8.8', false, false],
    ['example.com', false, false],
    ['2001:db8::1', false, false],
  ])('%s: loopback %s, private %s', (host, loopback, priv) => {
    expect(isLoopbackHost(host)).toBe(loopback);
    expect(isPrivateHost(host)).toBe(priv);
  });
});

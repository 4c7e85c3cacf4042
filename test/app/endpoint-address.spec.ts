import { describe, expect, it } from '@jest/globals';
import { EndpointAllowList, isInternalAddress } from '../../src/auth/endpoint-address.policy.js';

/** Finding 5: address classification alone, no connection made. */
describe('isInternalAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.100.100.200',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '64:ff9b::7f00:1',
    '2002:7f00:1::',
    'not-an-address',
  ])('%s is internal', (address) => {
    expect(isInternalAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    '%s is public',
    (address) => {
      expect(isInternalAddress(address)).toBe(false);
    },
  );

  it('the URL parser has already normalised odd IPv4 spellings to the address they mean', () => {
    for (const host of ['0x7f000001', '2130706433', '127.1', '0177.0.0.1', '127.0.0.1.']) {
      const hostname = new URL(`http://${host}/`).hostname.replace(/\.$/, '');
      expect(isInternalAddress(hostname)).toBe(true);
    }
  });
});

describe('EndpointAllowList', () => {
  it('allows listed hosts and ranges only', () => {
    const allow = new EndpointAllowList(['agent.internal', '10.0.0.0/8', '::1', '127.0.0.1']);
    expect(allow.allowsHost('Agent.Internal')).toBe(true);
    expect(allow.allowsHost('other.internal')).toBe(false);
    expect(allow.allowsAddress('10.9.8.7')).toBe(true);
    expect(allow.allowsAddress('::1')).toBe(true);
    expect(allow.allowsAddress('127.0.0.1')).toBe(true);
    expect(allow.allowsAddress('127.0.0.2')).toBe(false);
    expect(allow.allowsAddress('192.168.0.1')).toBe(false);
  });

  it.each(['10.0.0.0/33', 'bad host!', '::1/129', 'a/b'])(
    'refuses %j, naming the variable',
    (e) => {
      expect(() => new EndpointAllowList([e])).toThrow('ARCP_ENDPOINT_ALLOW');
    },
  );
});

describe('issue 15: ARCP_ENDPOINT_ALLOW entries that reopen what the policy closes', () => {
  it.each([
    ['0.0.0.0/0', /covers the cloud metadata address 169\.254\.169\.254/],
    ['::/0', /covers the cloud metadata address/],
    ['::ffff:0:0/96', /covers the cloud metadata address 169\.254\.169\.254/],
    ['169.254.0.0/16', /covers the cloud metadata address 169\.254\.169\.254/],
    ['169.254.169.254', /covers the cloud metadata address 169\.254\.169\.254/],
    ['128.0.0.0/1', /covers the cloud metadata address 169\.254\.169\.254/],
    ['100.64.0.0/10', /covers the cloud metadata address 100\.100\.100\.200/],
    ['fc00::/7', /covers the cloud metadata address fd00:ec2::254/],
    ['0.0.0.0/1', /covers the cloud metadata address 100\.100\.100\.200/],
    ['120.0.0.0/5', /covers 127\.0\.0\.1 \(this server\) along with other addresses/],
    ['126.0.0.0/7', /covers 127\.0\.0\.1 \(this server\)/],
    ['0.0.0.0/8', /covers 0\.0\.0\.0 \(this server\)/],
    ['::/127', /covers ::1 \(this server\)/],
    ['metadata.google.internal', /is a cloud metadata service/],
    ['Metadata.Google.Internal.', /is a cloud metadata service/],
  ])('refuses %j at start-up, naming the variable', (entry, message) => {
    expect(() => new EndpointAllowList([entry])).toThrow(message);
    expect(() => new EndpointAllowList([entry])).toThrow(/^ARCP_ENDPOINT_ALLOW: /);
  });

  it.each([
    '127.0.0.1',
    '127.0.0.1/32',
    '127.0.0.0/8',
    '::1',
    '[::1]',
    '10.0.0.0/8',
    '192.168.1.0/24',
  ])(
    'still allows %j (loopback on its own is deliberate; private ranges hold no metadata)',
    (entry) => {
      expect(() => new EndpointAllowList([entry])).not.toThrow();
    },
  );
});

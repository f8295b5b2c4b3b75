import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalCidr, parseIPv6 } from '../../src/protocol/ip.js';

test('canonical allowed-ips match what wg prints (recorded from wireguard-go)', () => {
  // Recorded: `wg set IF peer K allowed-ips 10.64.0.7,FC00:0:0::2/128,10.1.2.3/8,0.0.0.0/0`
  // then `wg show IF allowed-ips` printed `10.64.0.7/32 fc00::2/128 10.0.0.0/8 0.0.0.0/0`.
  assert.equal(canonicalCidr('ip', '10.64.0.7'), '10.64.0.7/32');
  assert.equal(canonicalCidr('ip', 'FC00:0:0::2/128'), 'fc00::2/128');
  assert.equal(canonicalCidr('ip', '10.1.2.3/8'), '10.0.0.0/8');
  assert.equal(canonicalCidr('ip', '0.0.0.0/0'), '0.0.0.0/0');
  // Recorded: `10.64.0.5/24` came back as `10.64.0.0/24`.
  assert.equal(canonicalCidr('ip', '10.64.0.5/24'), '10.64.0.0/24');
});

test('IPv6 printing follows inet_ntop', () => {
  assert.equal(canonicalCidr('ip', 'fc00:bbbb:bbbb:bb01:0:0:0:2'), 'fc00:bbbb:bbbb:bb01::2/128');
  assert.equal(canonicalCidr('ip', '::'), '::/128');
  assert.equal(canonicalCidr('ip', '::1'), '::1/128');
  assert.equal(canonicalCidr('ip', '1:0:0:2:0:0:0:3'), '1:0:0:2::3/128');
  assert.equal(canonicalCidr('ip', '1:0:2:3:4:5:6:7'), '1:0:2:3:4:5:6:7/128'); // a single 0 is not shortened
  assert.equal(canonicalCidr('ip', '::ffff:192.0.2.1'), '::ffff:192.0.2.1/128');
  assert.equal(canonicalCidr('ip', 'fc00::1234/16'), 'fc00::/16');
  assert.equal(canonicalCidr('ip', 'fe80::abcd/65'), 'fe80::/65');
});

test('malformed prefixes are refused with the field named', () => {
  for (const bad of ['', '10.0.0', '10.0.0.256', '010.64.0.1', '10.64.0.01/32', '10.064.0.1', '10.0.0.1/33', 'fc00::/129', '1::2::3', 'g::1', '10.0.0.1/', '10.0.0.1/-1', '1:2:3:4:5:6:7:8:9']) {
    assert.throws(() => canonicalCidr('peer 2 allowed-ip 1', bad), /^PqpskError: peer 2 allowed-ip 1: /, bad);
  }
  assert.equal(parseIPv6('1:2:3:4:5:6:7::8'), null);
});

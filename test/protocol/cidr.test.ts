import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIp, matchLength, routeOwner } from '../../src/protocol/cidr.js';

test('IPv4 containment', () => {
  assert.equal(matchLength('10.64.0.2/32', '10.64.0.2'), 32);
  assert.equal(matchLength('10.64.0.0/16', '10.64.9.9'), 16);
  assert.equal(matchLength('10.64.0.2/32', '10.64.0.3'), -1);
  assert.equal(matchLength('0.0.0.0/0', '203.0.113.7'), 0);
  assert.equal(matchLength('10.64.0.2/33', '10.64.0.2'), -1);
  assert.equal(matchLength('10.64.0.256/32', '10.64.0.2'), -1);
});

test('IPv6 containment, including :: forms and mixed families', () => {
  assert.equal(matchLength('fc00:bbbb:bbbb:bb01::2/128', 'fc00:bbbb:bbbb:bb01:0:0:0:2'), 128);
  assert.equal(matchLength('fc00::/7', 'fd12::1'), 7);
  assert.equal(matchLength('::/0', '::1'), 0);
  assert.equal(matchLength('::ffff:10.0.0.0/104', '::ffff:10.1.2.3'), 104);
  assert.equal(matchLength('10.0.0.0/8', 'fc00::1'), -1);
  assert.equal(matchLength('fc00::/7', '10.0.0.1'), -1);
  assert.equal(isIp('1::2::3'), false);
  assert.equal(isIp('1:2:3:4:5:6:7:8:9'), false);
});

test('the route owner is the longest prefix, as in cryptokey routing', () => {
  const peers = [
    { publicKey: 'wide', allowedIps: ['10.64.0.0/16'] },
    { publicKey: 'narrow', allowedIps: ['10.64.0.2/32', 'fc00::2/128'] },
    { publicKey: 'none', allowedIps: [] },
  ];
  assert.equal(routeOwner(peers, '10.64.0.2'), 'narrow');
  assert.equal(routeOwner(peers, '10.64.0.3'), 'wide');
  assert.equal(routeOwner(peers, 'fc00::2'), 'narrow');
  assert.equal(routeOwner(peers, '192.0.2.1'), null);
});

/** The watcher model's findings as plain regression tests, each replaying its shrunk sequence. */
import { test } from 'node:test';
import { ClockJump, Steps, WorldEvent, replayWatch } from './watch-model.js';

test('a tunnel whose key the relay dropped goes back to the parent key within the healing bound', () => {
  replayWatch([new Steps(2), new WorldEvent('relay-forgets'), new Steps(12), new Steps(12)]);
});

test('a clock stepped back by less than the jump threshold does not delay noticing a dead tunnel', () => {
  replayWatch([new Steps(2), new ClockJump(-5000, false), new ClockJump(-5000, true), new Steps(1), new ClockJump(-5000, false), new Steps(5), new Steps(11)]);
});

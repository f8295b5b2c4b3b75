/**
 * The watcher model's findings as plain regression tests, each replaying its shrunk
 * sequence; open ones are `todo` (they run and fail without failing the suite), and the
 * model allows for exactly their situation until they are fixed (see WatchWorld.steppedBack).
 */
import { test } from 'node:test';
import { ClockJump, Steps, WorldEvent, replayWatch } from './watch-model.js';

test('a tunnel whose key the relay dropped goes back to the parent key within the healing bound', () => {
  replayWatch([new Steps(2), new WorldEvent('relay-forgets'), new Steps(12), new Steps(12)], { allowStepBack: false });
});

test('a clock stepped back by less than the jump threshold does not delay noticing a dead tunnel', () => {
  replayWatch([new Steps(2), new ClockJump(-5000, false), new ClockJump(-5000, true), new Steps(1), new ClockJump(-5000, false), new Steps(5), new Steps(11)], { allowStepBack: false });
});

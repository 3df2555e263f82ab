import { describe, expect, it } from 'vitest';
import { StallMeter } from '../../src/streams/stallMeter.js';

describe('StallMeter', () => {
  it('counts the time at least one producer waits, overlapping waits once', () => {
    let now = 100;
    const stall = new StallMeter(() => now);
    stall.begin(); // t=100
    now = 110;
    stall.begin(); // a second producer joins
    now = 120;
    stall.end();
    expect(stall.totalMs()).toBe(20); // still waiting: includes the wait in progress
    now = 130;
    stall.end();
    now = 500; // idle time is not stall time
    stall.begin();
    now = 505;
    stall.end();
    expect(stall.totalMs()).toBe(35);
    expect(stall.waiting).toBe(0);
  });

  it('refuses an end without a begin', () => {
    expect(() => new StallMeter(() => 0).end()).toThrow(/without a matching begin/);
  });
});

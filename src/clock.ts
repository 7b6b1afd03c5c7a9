// Time is injected: everything that reasons about time takes a Clock, so unit
// tests drive it with FakeClock instead of sleeping.
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

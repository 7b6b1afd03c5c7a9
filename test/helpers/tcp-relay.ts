// The tests' cuttable TCP relay is the one the fleet drill runs (meridian drill --fleet): one copy, in src.
export * from '../../src/demo/fleet-drill/relay.js';

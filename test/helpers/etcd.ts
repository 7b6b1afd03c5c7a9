// The tests' etcd is the one the fleet drill runs (meridian drill --fleet): one copy, in src.
export * from '../../src/demo/fleet-drill/etcd.js';

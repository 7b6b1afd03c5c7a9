// routing/: route matching, selectors, residency, read-your-writes and health → decide().
export { decide, requestKind } from './decide.js';
export { matchRoute } from './match.js';
export { rendezvousOrder, rendezvousTop, rendezvousScore } from './rendezvous.js';
export { haversineKm } from './geo.js';
export { explainText, explainJson } from './explain.js';

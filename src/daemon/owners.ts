// Owner names and "is this owner gone" live with the session holds (src/pool/holds.ts); the
// daemon's job leases use the same judgment.
export { goneOwners, isGone, newOwner } from '../pool/holds.js';

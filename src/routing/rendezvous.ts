// Rendezvous (highest-random-weight) hashing for the `home` selector: each user key
// scores every region and the highest score is the home. Removing a region only moves the users
// whose top score was that region; everyone else's maximum is unchanged. The ranked list doubles as
// the failover order, so a user's second-choice region is stable too.
//
// The score is cyrb53 (a public-domain 53-bit hash built from Math.imul mixing) over
// (region length, region, key): fast, allocation-free, and well spread. Every router in a fleet
// must compute the same homes — changing this function moves users, so treat it as a contract.

/** 53-bit score of `key` for `region` (a safe integer). */
export function rendezvousScore(key: string, region: string): number {
  let h1 = 0xdeadbeef ^ region.length;
  let h2 = 0x41c6ce57 ^ region.length;
  for (let i = 0; i < region.length; i++) {
    const ch = region.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  // Separator so that ("ab", "c") and ("a", "bc") differ beyond the length prefix.
  h1 = Math.imul(h1 ^ 0x1f, 2654435761);
  h2 = Math.imul(h2 ^ 0x1f, 1597334677);
  for (let i = 0; i < key.length; i++) {
    const ch = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Regions ranked for `key`, best first. Ties (practically impossible) break by name. */
export function rendezvousOrder(key: string, regions: readonly string[]): string[] {
  const scored = regions.map((region) => ({ region, score: rendezvousScore(key, region) }));
  scored.sort((a, b) => b.score - a.score || (a.region < b.region ? -1 : a.region > b.region ? 1 : 0));
  return scored.map((s) => s.region);
}

/** The top region for `key` (the user's hashed home), or null when `regions` is empty. */
export function rendezvousTop(key: string, regions: readonly string[]): string | null {
  let best: string | null = null;
  let bestScore = -1;
  for (const region of regions) {
    const s = rendezvousScore(key, region);
    if (s > bestScore || (s === bestScore && best !== null && region < best)) {
      best = region;
      bestScore = s;
    }
  }
  return best;
}

// How the loader's stages report problems: by character offset (or key path) and message; the
// loader turns that into `file:line:col key.path: message`. The stages keep going after an error so
// `meridian validate` can list everything wrong with a file at once.
import { closest, distance } from 'fastest-levenshtein';

/** Records an error found at a character offset of the YAML text. */
export type Report = (offset: number, path: string, message: string) => void;

export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** "; did you mean `x`?" when a candidate is close enough to be a plausible typo, else ''. */
export function suggest(word: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  const lower = word.toLowerCase();
  const caseOnly = candidates.find((c) => c.toLowerCase() === lower);
  const best = caseOnly ?? closest(word, candidates);
  const d = distance(lower, best.toLowerCase());
  return d <= Math.min(3, Math.max(1, Math.floor(best.length / 2))) ? `; did you mean \`${best}\`?` : '';
}

import { readFileSync } from 'node:fs';

/** Meridian's version, from the package.json next to dist/ (shown by --version and in fleet membership). */
export function meridianVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

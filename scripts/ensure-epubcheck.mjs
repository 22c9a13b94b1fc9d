// Debian packages some tests use. Java epubcheck is the reference validator (the suite always
// runs @likecoin/epubcheck-ts; with Java epubcheck the same EPUBs pass both); Chromium and Firefox
// ESR write real browser profiles for the --from-browser tests; zsh and fish check the completion
// scripts. Run as root with apt-get, the missing ones are installed in one go; otherwise the tests
// that need them say so and skip.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const EPUBCHECK_JAR = '/usr/share/java/epubcheck.jar';

/** Each package, the file that shows it is installed, and what the tests use it for. */
export const DEBIAN_PACKAGES = [
  { name: 'epubcheck', file: EPUBCHECK_JAR, what: 'Java epubcheck checks' },
  { name: 'chromium', file: '/usr/bin/chromium', what: 'the Chromium --from-browser tests' },
  { name: 'firefox-esr', file: '/usr/bin/firefox-esr', what: 'the Firefox --from-browser tests' },
  { name: 'zsh', file: '/usr/bin/zsh', what: 'the syntax check of bookd completion zsh' },
  { name: 'fish', file: '/usr/bin/fish', what: 'the syntax check of bookd completion fish' },
];

/** Installs whichever of DEBIAN_PACKAGES is missing; returns the names still missing afterwards. */
export function ensureDebianPackages() {
  const missing = () => DEBIAN_PACKAGES.filter((p) => !existsSync(p.file));
  const skipped = (why) => {
    for (const p of missing()) console.log(`# ${p.name} not installed (${why}): ${p.what} will be skipped`);
    return missing().map((p) => p.name);
  };
  const wanted = missing();
  if (wanted.length === 0) return [];
  if (process.env.BOOKD_SKIP_APT) return skipped('BOOKD_SKIP_APT is set');
  if (typeof process.getuid !== 'function' || process.getuid() !== 0 || !hasCommand('apt-get')) return skipped('installing it needs root and apt-get');
  const names = wanted.map((p) => p.name);
  console.log(`# installing from Debian: apt-get install ${names.join(' ')}...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env, timeout: 300_000 });
  if (update.status === 0) spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...names], { stdio: 'inherit', env, timeout: 900_000 });
  return skipped('it could not be installed');
}

/** Kept for callers that only want Java epubcheck: whether it is there after the installs. */
export function ensureEpubcheck() {
  ensureDebianPackages();
  return existsSync(EPUBCHECK_JAR);
}

function hasCommand(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

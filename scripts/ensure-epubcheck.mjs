// Java epubcheck is the reference validator. The suite always runs @likecoin/epubcheck-ts; when
// Java epubcheck can be had (root with apt), it is installed so the same EPUBs pass both.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const EPUBCHECK_JAR = '/usr/share/java/epubcheck.jar';

export function ensureEpubcheck() {
  if (existsSync(EPUBCHECK_JAR)) return true;
  if (process.env.BOOKD_SKIP_APT) {
    console.log('# Java epubcheck not installed and BOOKD_SKIP_APT is set: Java epubcheck checks will be skipped');
    return false;
  }
  if (typeof process.getuid !== 'function' || process.getuid() !== 0 || !hasCommand('apt-get')) {
    console.log('# Java epubcheck not installed (needs root and apt-get to install it): Java epubcheck checks will be skipped');
    return false;
  }
  console.log('# installing Java epubcheck from Debian (apt-get install epubcheck)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env, timeout: 300_000 });
  const install =
    update.status === 0
      ? spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'epubcheck'], { stdio: 'inherit', env, timeout: 600_000 })
      : update;
  if (install.status !== 0 || !existsSync(EPUBCHECK_JAR)) {
    console.log('# Java epubcheck could not be installed: Java epubcheck checks will be skipped');
    return false;
  }
  return true;
}

function hasCommand(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

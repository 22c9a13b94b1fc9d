import { readFileSync, realpathSync } from 'node:fs';

/**
 * Filesystems whose locking SQLite cannot rely on: WAL needs shared memory between processes on
 * one host, and POSIX locks over these are missing or lie. A queue there double-claims jobs or
 * corrupts the file, so we refuse rather than find out weeks later.
 */
const NETWORK_FS = new Set([
  'nfs',
  'nfs4',
  'cifs',
  'smb',
  'smb2',
  'smb3',
  'smbfs',
  '9p',
  'afs',
  'ceph',
  'glusterfs',
  'lustre',
  'gpfs',
  'ncpfs',
  'coda',
  'davfs',
  'fuse.sshfs',
  'fuse.glusterfs',
  'fuse.ceph',
  'fuse.cephfs',
  'fuse.rclone',
  'fuse.s3fs',
  'fuse.gcsfuse',
  'fuse.davfs',
  'fuse.juicefs',
  'fuse.goofys',
  'fuse.mountpoint-s3',
  'fuse.smbnetfs',
  'fuse.curlftpfs',
]);

export const ALLOW_NETWORK_FS_ENV = 'BOOKD_ALLOW_NETWORK_FS';

interface Mount {
  point: string;
  type: string;
}

/** /proc/self/mounts escapes space, tab, newline and backslash as octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

function parseMounts(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 3) continue;
    mounts.push({ point: unescapeMountField(fields[1]!), type: fields[2]! });
  }
  return mounts;
}

function contains(mountPoint: string, path: string): boolean {
  if (mountPoint === '/') return true;
  return path === mountPoint || path.startsWith(`${mountPoint}/`);
}

/**
 * The filesystem type of the mount holding `dir` ("ext4", "nfs4", …). `mountTable` is the text of
 * /proc/self/mounts (tests pass their own); undefined where there is no such file (not Linux).
 */
export function mountTypeOf(dir: string, mountTable?: string): string | undefined {
  let text = mountTable;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/mounts', 'utf8');
    } catch {
      return undefined;
    }
  }
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    real = dir;
  }
  // The last matching entry with the longest mount point is the one in effect (mounts stack).
  let best: Mount | undefined;
  for (const m of parseMounts(text)) {
    if (contains(m.point, real) && (!best || m.point.length >= best.point.length)) best = m;
  }
  return best?.type;
}

/** The filesystem type holding `dir` when it is a network filesystem, else undefined. */
export function networkFsType(dir: string, mountTable?: string): string | undefined {
  const type = mountTypeOf(dir, mountTable);
  return type !== undefined && NETWORK_FS.has(type) ? type : undefined;
}

import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';

/**
 * The real path of a catalogued file, or undefined when it is not a file inside the library. A
 * catalogue row's path was made from server data (titles can be hostile) and the row may have been
 * edited, so it is checked twice: by its text (no absolute path, no `..`, no control characters)
 * and by where it really leads once symbolic links are followed.
 */
export async function libraryFile(libraryRoot: string, relativePath: string): Promise<string | undefined> {
  if (relativePath === '' || isAbsolute(relativePath) || /[\u0000-\u001f\u007f\\]/.test(relativePath)) return undefined;
  if (relativePath.split('/').some((seg) => seg === '..' || seg === '')) return undefined;
  try {
    const root = await realpath(libraryRoot);
    const real = await realpath(join(root, relativePath));
    if (!real.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
    return (await stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Credentials } from './session.js';

export interface CredentialRef {
  name: string;
  loginEmail?: string;
  passwordFile?: string;
}

/**
 * Where a session's password comes from when it must log in again: the file the operator named,
 * else `<credentialsDir>/<session name>`; under systemd, `LoadCredential=bookd:/etc/bookd/credentials`
 * loads that directory's files as `$CREDENTIALS_DIRECTORY/bookd_<file name>`.
 * The password is read at the moment of use and never kept.
 */
export function credentialSource(ref: CredentialRef, credentialsDir: string | undefined): (() => Credentials | undefined) | undefined {
  const email = ref.loginEmail;
  if (!email) return undefined;
  const files = [ref.passwordFile, ...(credentialsDir ? [join(credentialsDir, ref.name), join(credentialsDir, `bookd_${ref.name}`)] : [])].filter(
    (f): f is string => !!f,
  );
  if (files.length === 0) return undefined;
  return () => {
    for (const file of files) {
      const password = readPasswordFile(file);
      if (password !== undefined) return { email, password };
    }
    return undefined;
  };
}

export function readPasswordFile(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

import { chmodSync, closeSync, existsSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The database and the files SQLite keeps beside it. */
const SIDE_FILES = ['', '-wal', '-shm'] as const;

/**
 * Makes the state folder private to the user before SQLite touches it: the folder 0700, the
 * database and its WAL and shared-memory files 0600, also when an older version made them
 * world-readable. SQLite gives the -wal and -shm files it creates the database file's mode, so
 * the database is created here, empty (an empty file is a valid new database), with 0600.
 *
 * A folder that is not ours (another user's, or a shared sticky one like /tmp) keeps its mode:
 * changing it would hurt others, and the files in it are private anyway.
 */
export function privateStateFolder(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const folder = statSync(dir);
  const ours = process.getuid === undefined || folder.uid === process.getuid();
  if (ours && (folder.mode & 0o1000) === 0 && (folder.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  const file = path.join(dir, 'state.db');
  closeSync(openSync(file, 'a', 0o600));
  for (const suffix of SIDE_FILES) {
    const f = file + suffix;
    if (existsSync(f) && (statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
  }
}

/** Moves a damaged database (and its -wal and -shm) aside under one name; returns where the database went. */
export function moveDamagedAside(file: string): string {
  const aside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of SIDE_FILES) {
    if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
  }
  return aside;
}

/** The state folder when --state-dir / `stateDir:` is not given: $CLOUDMIRROR_STATE_DIR, else $XDG_STATE_HOME/cloudmirror. */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.CLOUDMIRROR_STATE_DIR !== undefined && env.CLOUDMIRROR_STATE_DIR !== '') return env.CLOUDMIRROR_STATE_DIR;
  const base = env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'cloudmirror');
}

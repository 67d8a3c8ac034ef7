/** Files that several processes share, safely: locks, atomic writes, private directories and files. */
export { type AtomicWriteOptions, syncDirectory, writeFileAtomic } from './atomic-write.js';
export { acquireLock, isHolderAlive, type Lock, type LockHolder, type LockOptions, LockTimeoutError, readLockHolder, withLock } from './lock.js';
export { checkAncestors, checkPrivateDir, ensurePrivateDir, PrivateDirError, type PrivateDirOptions, type PrivateDirProblem } from './private-dir.js';
export { readRegularFile, ReadFileError, type ReadFileProblem } from './read-file.js';
export { PrivateFileError, type PrivateFileOptions, type PrivateFileProblem, readPrivateFile } from './private-file.js';
export { xdgStateHome } from './state-home.js';

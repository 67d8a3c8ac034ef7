/**
 * Xen's errno numbers. On x86 they are Linux's (xen/include/public/errno.h), so the hypervisor,
 * libxenctrl and the C tool all print these values. Hook functions may return any negative number,
 * so an errno outside this table is still a valid result: it gets a synthetic code (`ERRNO_<n>`).
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  EROFS: 30,
  EMLINK: 31,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  ETIME: 62,
  EBADMSG: 74,
  EOVERFLOW: 75,
  ENOTUNIQ: 76,
  EILSEQ: 84,
  ERESTART: 85,
  ENOTSOCK: 88,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
} as const;

export type ErrnoName = keyof typeof ERRNO;
/** A known errno name, or `ERRNO_<n>` for a number outside the table (e.g. a hook's own rc). */
export type ErrnoCode = ErrnoName | `ERRNO_${number}`;

const MESSAGES: Readonly<Partial<Record<ErrnoName, string>>> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long',
  ENOEXEC: 'Exec format error',
  EBADF: 'Bad file descriptor',
  ECHILD: 'No child processes',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  ENODEV: 'No such device',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EMLINK: 'Too many links',
  EDOM: 'Numerical argument out of domain',
  ERANGE: 'Numerical result out of range',
  EDEADLK: 'Resource deadlock avoided',
  ENAMETOOLONG: 'File name too long',
  ENOLCK: 'No locks available',
  ENOSYS: 'Function not implemented',
  ENOTEMPTY: 'Directory not empty',
  ENODATA: 'No data available',
  ETIME: 'Timer expired',
  EBADMSG: 'Bad message',
  EOVERFLOW: 'Value too large for defined data type',
  ENOTUNIQ: 'Name not unique on network',
  EILSEQ: 'Invalid or incomplete multibyte or wide character',
  ERESTART: 'Interrupted system call should be restarted',
  ENOTSOCK: 'Socket operation on non-socket',
  EOPNOTSUPP: 'Operation not supported',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENOBUFS: 'No buffer space available',
  EISCONN: 'Transport endpoint is already connected',
  ENOTCONN: 'Transport endpoint is not connected',
  ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
};

const BY_NUMBER: ReadonlyMap<number, ErrnoName> = new Map((Object.entries(ERRNO) as [ErrnoName, number][]).map(([name, n]) => [n, name]));

/** The code for a positive or negative errno value: `errnoCode(-22) === 'EINVAL'`. */
export function errnoCode(errno: number): ErrnoCode {
  const n = Math.abs(errno);
  return BY_NUMBER.get(n) ?? `ERRNO_${n}`;
}

/** The C library's wording for an errno (what `strerror` prints), as the C tool shows it. */
export function errnoMessage(errno: number): string {
  const name = BY_NUMBER.get(Math.abs(errno));
  return (name && MESSAGES[name]) ?? `Unknown error ${Math.abs(errno)}`;
}

/** The livepatch domain as Xen defines it: types, errnos, errors, symbol tables and the one version model. */
export * from './domain.js';
export * from './errno.js';
export * from './errors.js';
export * from './symbols.js';
export * from './version.js';

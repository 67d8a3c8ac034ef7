/**
 * The package's root directory, as a URL ending in `/`. This module is either dist/cli/package-root.js
 * or part of the bundle dist/xlp/xlp.cjs: both two levels below the root, which is why modules of
 * lib/cli/commands/ ask here instead of counting `../` from their own place.
 */
export const PACKAGE_ROOT_URL = new URL('../../', import.meta.url);

/** The native backend: libxenctrl's livepatch sysctls through the compiled addon. */
export { NativeBackend, openNative } from './backend.js';
export { AmbiguousNameError } from './names.js';
export type { NativeBackendInfo, NativeOpenOptions, XenInterfaceGeneration } from './backend.js';

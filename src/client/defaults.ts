/**
 * The client's defaults, in a module that imports nothing: `pqpsk negotiate --help` shows
 * them, and the command line loads its help text without loading the KEMs.
 */

/** What the client sends unless told otherwise, as Mullvad's app does: ML-KEM-1024 then HQC-256. */
export const DEFAULT_CLIENT_KEMS = 'ML-KEM-1024,HQC-256';

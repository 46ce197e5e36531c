/// <reference types="vite/client" />

/** The development provisioning JSON (see src/core/config/provisioning.ts), or null in production. */
declare const __PAYBOUND_PROVISION__: unknown;
